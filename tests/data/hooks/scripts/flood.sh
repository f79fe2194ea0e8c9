#!/bin/sh
# 50 MB of output in 1000-character lines, then 8 MB without any newline.
head -c 52428800 /dev/zero | tr '\0' 'x' | fold -w 1000
head -c 8388608 /dev/zero | tr '\0' 'y'
echo
echo flood-done >&2
