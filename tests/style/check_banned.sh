#!/usr/bin/env bash
# check_banned.sh SRC: product code (not tests, not bench) calls none of the
# functions in common/banned.h, nor system()/popen() (shell strings).
set -u
src=${1:?usage: check_banned.sh SOURCE_DIR}
cd "$src" || exit 2
pattern='\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|asctime|ctime|gmtime|localtime|system|popen)[[:space:]]*\('
hits=$(grep -nE "$pattern" common/*.c engine/*.c engine/cli/*.c operators/*.c db/*.c api/*.c 2>/dev/null |
	grep -vE '^\S+:[0-9]+:\s*(\*|/\*|//)' | grep -vE 'snprintf|vsnprintf|_r\(' || true)
if [[ -n $hits ]]; then
	echo "banned functions used (see common/banned.h):"
	echo "$hits"
	exit 1
fi
echo "no banned functions"
