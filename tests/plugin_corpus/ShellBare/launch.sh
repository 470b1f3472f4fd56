#!/bin/bash
VERSION=3.3
echo hi
