#!/bin/sh
# Copy the day's sensor log into data/, refusing to overwrite an existing one.
set -eu
src="$1"
dest="data/$(basename "$src")"
if [ -e "$dest" ]; then
    echo "refusing to overwrite $dest" >&2
    exit 1
fi
cp "$src" "$dest"
