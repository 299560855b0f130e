#!/usr/bin/env bash
# Every report kind, built on real data (a regression and a classification
# project, a cleaned table, job runs of a report job run by the launcher,
# a deployed model scored on a shifted batch for drift): (a) parses with
# libxml2's HTML parser without a single error or warning (xmllint --html),
# (b) renders in headless Chromium, and its charts are drawn: each chart of
# the document, placed in a page at a known position, covers its box with
# a reasonable share of non-background pixels (python3-PIL), and the whole
# report's screenshot is far from blank. Each chart is also a well-formed
# SVG document (xmllint, XML parser). Prints TAP; run with prove in
# scripts/cluster.sh (the launcher serves mlops_jobs).
set -euo pipefail
. "$(dirname "$0")/lib/jobs.bash"
jobs_setup rrender
out=$(mktemp -d)
# REPORT_RENDER_KEEP=dir keeps the documents and screenshots there
trap 'jobs_teardown; [ -n "${REPORT_RENDER_KEEP:-}" ] && cp -r "$out"/. "$REPORT_RENDER_KEEP"/; rm -rf "$out"' EXIT
py=/usr/bin/python3; [ -x "$py" ] || py=python3
chromium=$(command -v chromium || command -v chromium-browser || true)
echo "1..21"

q >/dev/null <<SQL
CREATE TABLE irisish AS
SELECT i AS id, (i % 13) + (i % 7) / 10.0 AS a, (i % 4)::float8 AS b,
       CASE WHEN (i % 13) + (i * 7) % 5 > 9 THEN 'virginica' WHEN i % 3 = 0 THEN 'setosa' ELSE 'versicolor' END AS species
FROM generate_series(1, 400) i;
CREATE TABLE dirty AS
SELECT i AS id, CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 40)::float8 + CASE WHEN i % 97 = 0 THEN 900 ELSE 0 END END AS a,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue', '<b>&"q'])[i % 4 + 1] END AS color,
       '2024-01-01'::timestamptz + (i % 50) * interval '1 day' AS at,
       (i % 7)::float8 AS y
FROM generate_series(1, 500) i;
CREATE TABLE shifted AS SELECT id, x1 + 9 AS x1, x2 * 3 AS x2, y FROM houses;
GRANT SELECT ON irisish, dirty, shifted TO ml_analyst, ml_engineer;
SET ROLE $ana;
SELECT ml_create_project('iris "q" <x>', 'irisish', 'species', 'classification');
SELECT version FROM ml_train('iris "q" <x>', 'logistic', options => '{"exclude": ["id"]}');
SELECT ml_create_project('dirty', 'dirty', 'y');
SELECT count(*) FROM ml_clean('dirty', into_table => 'dirty_clean');
SET ROLE $eng;
SELECT count(*) FROM ml_score('homes', 'shifted', 'shifted_scored');
SQL

# a report job, run now by the launcher as its owner, publishes a model report
rjob=$(as $eng -c "SELECT ml_schedule('homes', 'report', '@daily',
                   '{\"kind\": \"model\", \"options\": {\"sample_rows\": 200}, \"publish\": true}')")
run=$(as $eng -c "SELECT ml_run_now($rjob)")
check "a report job run by the launcher succeeds" test "$(run_end "$run")" = succeeded
check "its report is published" \
  test "$(q -c "SELECT count(*) FROM mlops.reports WHERE published AND kind = 'model'")" = 1
# a failing run for the jobs report: a report of a kind with no data
fjob=$(as $eng -c "SELECT ml_schedule('dirty', 'report', '@daily', '{\"kind\": \"model\"}')")
frun=$(as $eng -c "SELECT ml_run_now($fjob)")
check "a report job whose report cannot be built fails" test "$(run_end "$frun")" = failed
sleep 1.1
run2=$(as $eng -c "SELECT ml_run_now($rjob)")
run_end "$run2" >/dev/null

ids=$(as $ana -c "SELECT ml_report('homes', 'model', '{\"permutation_importance\": true}')")
ids="$ids $(as $ana -c "SELECT ml_report('iris \"q\" <x>', 'model')")"
ids="$ids $(as $ana -c "SELECT ml_report('dirty', 'cleaning')")"
ids="$ids $(as $eng -c "SELECT ml_report('homes', 'jobs')")"
ids="$ids $(as $eng -c "SELECT ml_report('homes', 'drift')")"
ids="$ids $(as $ana -c "SELECT ml_report('iris \"q\" <x>', 'model', '{\"inline_svg\": true}')")"
set -- $ids
check "every kind is built (reports $ids)" test $# = 6

for id in $ids; do
  kind=$(q -c "SELECT kind || CASE WHEN built_from->'options' ? 'inline_svg' THEN '_inline' ELSE '' END FROM mlops.reports WHERE id = $id")
  q -c "SELECT html FROM mlops.reports WHERE id = $id" > "$out/$id.html"
  if [ "${kind%_inline}" = "$kind" ]; then
    lint=$(xmllint --html --noout "$out/$id.html" 2>&1; echo "rc=$?")
    check "$kind report $id parses with libxml2's HTML parser without errors" test "$lint" = "rc=0"
  else
    # inline <svg> is HTML5 that libxml2's HTML 4 parser reports as unknown tags, and nothing else
    lint=$(xmllint --html --noout "$out/$id.html" 2>&1 | grep 'error' | grep -v -E 'Tag (svg|g|rect|line|text|circle|path|title) invalid' || true)
    check "$kind report $id: only the inline SVG tags are unknown to libxml2's HTML 4 parser" test -z "$lint"
  fi
done

# Each chart out of the documents: well-formed SVG, then drawn in a page
# with a known layout (one chart per 1100 x 760 cell), screenshot checked.
"$py" - "$out" $ids <<'PY' > "$out/charts.txt"
import base64, html.parser, os, re, sys
out, ids = sys.argv[1], sys.argv[2:]
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.charts = []; s.depth = 0; s.buf = None
    def handle_starttag(s, tag, attrs):
        a = dict(attrs)
        if tag == 'img' and a.get('class') == 'chart':
            s.charts.append(base64.b64decode(a['src'].split(',', 1)[1]).decode())
P_ = P
page = ['<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#fff}'
        'div.c{position:absolute;width:1100px;height:760px;overflow:hidden}</style></head><body>']
n = 0
for i in ids:
    doc = open(os.path.join(out, i + '.html'), encoding='utf-8').read()
    p = P_(); p.feed(doc)
    charts = p.charts
    if not charts:  # inline: the <svg> elements themselves
        charts = re.findall(r'<svg.*?</svg>', doc, re.S)
    for svg in charts:
        open(os.path.join(out, 'chart%d.svg' % n), 'w', encoding='utf-8').write(svg)
        w, h = re.search(r'width="(\d+)"', svg).group(1), re.search(r'height="(\d+)"', svg).group(1)
        page.append('<div class="c" style="left:0;top:%dpx">%s</div>' % (n * 760, svg))
        print(i, n, w, h)
        n += 1
page.append('</body></html>')
open(os.path.join(out, 'charts.html'), 'w', encoding='utf-8').write(''.join(page))
PY
ncharts=$(wc -l < "$out/charts.txt")
check "the reports hold charts ($ncharts)" test "$ncharts" -ge 12
bad=0
for f in "$out"/chart*.svg; do xmllint --noout "$f" 2>/dev/null || bad=$((bad + 1)); done
check "every chart is a well-formed XML document" test $bad = 0
check "every chart is in the SVG namespace" \
  test "$(grep -L 'xmlns="http://www.w3.org/2000/svg"' "$out"/chart*.svg | wc -l)" = 0

shot() {  # shot HTML PNG WIDTH HEIGHT
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --mute-audio \
    --user-data-dir="$out/profile" --window-size="$3,$4" --screenshot="$2" "file://$1" >/dev/null 2>&1
}
if [ -z "$chromium" ]; then
  for i in 1 2 3 4 5 6 7 8; do echo "ok $((n + i)) # skip no chromium"; done
  exit 0
fi
shot "$out/charts.html" "$out/charts.png" 1100 $((ncharts * 760))
check "Chromium renders the charts page" test -s "$out/charts.png"
# each chart's box (its width x height at its cell's top left): share of non-white pixels
blank=$("$py" - "$out" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
img = Image.open(out + '/charts.png').convert('RGB')
bad = []
for line in open(out + '/charts.txt'):
    rid, n, w, h = line.split(); n, w, h = int(n), int(w), int(h)
    box = img.crop((0, n * 760, min(w, 1100), n * 760 + min(h, 760)))
    px = list(box.getdata())
    ink = sum(1 for p in px if sum(p) < 600) / len(px)  # darker than the grid lines
    # bars, points, axes and text: at least 2 % of the box (grid lines and frame do not count)
    if ink < 0.02:
        bad.append('%s/%d: %.4f' % (rid, n, ink))
print(' '.join(bad))
PY
)
check "every chart is drawn: non-blank pixels in its box${blank:+ (blank: $blank)}" test -z "$blank"
for id in $1 $2 $3 $4 $5; do
  shot "$out/$id.html" "$out/$id.png" 1100 2400
  share=$("$py" -c "
from PIL import Image
img = Image.open('$out/$id.png').convert('RGB')
px = list(img.crop((0, 120, 1100, 2400)).getdata())
print(int(1000 * sum(1 for p in px if sum(p) < 720) / len(px)))")
  check "report $id renders in Chromium with content below its header (${share} per mille inked)" test "$share" -ge 10
done
check "a consumer with an exposure reads the published report" \
  bash -c "psql -X -q -d $db -At -c \"SELECT ml_expose('homes', '$cons')\" >/dev/null 2>&1 || true; \
    test \"\$(psql -X -q -d $db -At -c 'SET ROLE $eng' -c \"SELECT ml_expose('homes', '$cons')\" -c 'SET ROLE $cons' \
      -c 'SELECT count(*) FROM ml_published_reports' 2>/dev/null | tail -1)\" -ge 1"
