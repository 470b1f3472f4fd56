#!/bin/bash
#MAJORBLOCK
echo "no version here"
