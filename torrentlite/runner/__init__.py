"""Plugins: install and inspect, launch files, scheduling and executors."""
