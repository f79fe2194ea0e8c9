#!/bin/sh
# Binary and invalid UTF-8 output.
printf 'bin:\000\001\002\377\376\n'
printf 'bad:\303(\355\240\200\n' >&2
printf '\033[1;31mred\033[0m caf\303\251\n'
exit 7
