#!/usr/bin/env bash
# Vendor the web assets the UI embeds (no CDN: Tongxin must work offline).
# Fetches exact versions from the npm registry with `npm pack` and copies the files we serve
# into crates/web/static/vendor/. Re-run after changing a version below; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=crates/web/static/vendor
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fetch() { (cd "$tmp" && npm pack "$1" --silent >/dev/null && mkdir -p "$2" && tar xzf ./*.tgz -C "$2" && rm ./*.tgz); }
fetch htmx.org@2.0.11 htmx
fetch leaflet@1.9.4 leaflet
fetch swagger-ui-dist@5.35.0 swagger
rm -rf "$dest"; mkdir -p "$dest/leaflet/images" "$dest/swagger-ui"
cp "$tmp/htmx/package/dist/htmx.min.js" "$tmp/htmx/package/LICENSE" "$dest/" && mv "$dest/LICENSE" "$dest/htmx.LICENSE"
cp "$tmp/leaflet/package/dist/leaflet.js" "$tmp/leaflet/package/dist/leaflet.css" "$tmp/leaflet/package/LICENSE" "$dest/leaflet/"
cp "$tmp/leaflet/package/dist/images/"*.png "$dest/leaflet/images/"
cp "$tmp/swagger/package/swagger-ui-bundle.js" "$tmp/swagger/package/swagger-ui.css" "$tmp/swagger/package/LICENSE" "$dest/swagger-ui/"
echo "vendored into $dest:"; find "$dest" -type f | sort
