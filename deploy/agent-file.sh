#!/usr/bin/env bash
# Prints the path of one agent's SQLite file in a single-node data directory.
#   deploy/agent-file.sh <data-dir> <class-directory> <name>
#   deploy/agent-file.sh /var/lib/hearth counter alice
# <class-directory> is the folder under <data-dir>/agents/ (the class in kebab case: Counter -> counter,
# ChatRoom -> chat-room). The file is agents/<class>/<h:0:2>/<slug>-<h>.sqlite with h the first 32 hex
# digits of sha256("<class>\0<name>"); the slug is only a readable hint, so the hash finds it.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 <data-dir> <class-directory> <name>" >&2; exit 2; }
hash=$(printf '%s\0%s' "$2" "$3" | sha256sum | cut -c1-32)
dir="$1/agents/$2/${hash:0:2}"
found=$(find "$dir" -maxdepth 1 -name "*$hash.sqlite" 2>/dev/null | head -1)
if [ -z "$found" ]; then
  echo "no file for $2/$3 under $dir (the agent never wrote anything, or another class directory)" >&2
  exit 1
fi
echo "$found"
