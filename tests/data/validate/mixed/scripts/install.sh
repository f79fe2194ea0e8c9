#!/bin/sh
echo install
echo done
