#!/bin/sh
# Fails like the spec's example payload: one stderr line, exit 1.
echo boom >&2
exit 1
