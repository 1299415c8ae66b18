#!/usr/bin/env bash
# Demonstrates the durability promise of resumable uploads end to end, with the real bin and CLI: a ~2 GB CSV is
# uploaded with `weir upload` (tus); mid-way the server is SIGKILLed and the client interrupted (SIGINT); the
# server restarts on the same data dir, `weir upload --resume` continues from the stored offset, and the upload
# becomes a dataset whose SHA-256 is the file's. Needs `npm run build` and a file from `node bench/run.mjs uploads`
# (or pass one): scripts/upload-survival.sh [file.csv]
set -u
cd "$(dirname "$0")/.."
FILE=${1:-bench/.work/upload-2000000000-v2.csv}
[ -f "$FILE" ] || { echo "no $FILE: run node bench/run.mjs uploads first, or pass a CSV"; exit 2; }
D=$(mktemp -d /tmp/weir-survival-XXXX)
export WEIR_DATA_DIR=$D/data WEIR_PORT=${WEIR_PORT:-18181} WEIR_LOG_LEVEL=warn WEIR_MAX_UPLOAD_BYTES=5GB
export WEIR_BOOTSTRAP_ADMIN_EMAIL=demo@weir.test WEIR_BOOTSTRAP_ADMIN_PASSWORD='demo password, loopback only'
export WEIR_URL=http://127.0.0.1:$WEIR_PORT WEIR_CONFIG_DIR=$D/cfg
serve() { node dist/weir.mjs serve >> "$D/serve.log" 2>&1 & S=$!; until curl -sf "$WEIR_URL/health/ready" >/dev/null; do sleep 0.2; done; }
serve
printf '%s\n' "$WEIR_BOOTSTRAP_ADMIN_PASSWORD" | node dist/weir.mjs login --email "$WEIR_BOOTSTRAP_ADMIN_EMAIL" --password-stdin >/dev/null
node dist/weir.mjs upload "$FILE" --name survivor > "$D/first.log" 2>&1 & C=$!
sleep 3; kill -9 $S; echo "server SIGKILLed mid-upload"; sleep 1; kill -INT $C 2>/dev/null; wait $C; echo "client interrupted (exit $?)"
tail -2 "$D/first.log"
serve
START=$(date +%s)
node dist/weir.mjs upload --resume "$FILE" --name survivor --json > "$D/result.json" || { echo "resume failed"; kill $S; exit 1; }
echo "resumed and ingested in $(( $(date +%s) - START )) s"
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`dataset ${r.id}: ${r.version.rowCount} rows, ${r.version.sourceBytes} bytes, sha256 ${r.version.sha256}`)' "$D/result.json"
sha256sum "$FILE"
kill $S; wait $S 2>/dev/null
rm -rf "$D"
