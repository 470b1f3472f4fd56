#!/bin/bash
VERSION="1.0"
