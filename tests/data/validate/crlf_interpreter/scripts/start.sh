#!/bin/bash
echo starting
