#!/bin/sh
# Prints the hook environment.
env | sort
