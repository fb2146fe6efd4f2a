#!/bin/sh
# extract-vocab.sh MODEL_DIR OUT — write the WordPiece vocabulary of
# MODEL_DIR/tokenizer.json to OUT as vocab.txt (one token per line, line
# number = id) for test_tokenizer.  Needs only node, no npm packages.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: $0 MODEL_DIR OUT" >&2
	exit 2
fi
node -e '
const fs = require("fs");
const [json, out] = process.argv.slice(1);
const vocab = JSON.parse(fs.readFileSync(json, "utf8")).model.vocab;
const tokens = [];
for (const [tok, id] of Object.entries(vocab)) {
	if (/[\r\n]/.test(tok)) throw new Error("token with a line break: " + JSON.stringify(tok));
	tokens[id] = tok;
}
for (let i = 0; i < tokens.length; i++)
	if (tokens[i] === undefined) throw new Error("no token with id " + i);
fs.writeFileSync(out, tokens.join("\n") + "\n");
' "$1/tokenizer.json" "$2"
