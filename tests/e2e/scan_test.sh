#!/usr/bin/env bash
# `sluice scan`: which columns of a file (or of a pipeline's files) hold PII, and at what rate.
# A CSV with one column per PII kind plus plain columns; each PII column is reported with its kind
# and rate, plain ones are not; --json has the documented keys; no PII value is ever printed; a
# pipeline YAML, a gzip file and JSON lines work; --rows limits the sample; errors exit non-zero
# and name the file.
#
# usage: bash scan_test.sh PATH_TO_SLUICE
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

# The PII values of people.csv, one a line: none of them may ever appear in an output.
cat >"$T/pii_values.txt" <<'EOF'
alice@example.com
bob.jones@example.org
carol@mail.example.com
dan@example.com
eve@example.com
+44 20 7946 0958
+1 (415) 555-2671
(555) 123-4567
555-123-4567
+33 6 12 34 56 78
4111111111111111
5555555555554444
378282246310005
6011111111111117
4012888888881881
GB82WEST12345698765432
DE89370400440532013000
NL91ABNA0417164300
FR1420041010050500013M02606
ES9121000418450200051332
078-05-1120
123-45-6789
219-09-9999
457-55-5462
234-56-7890
192.168.1.10
10.0.0.1
8.8.8.8
172.16.0.5
203.0.113.7
zed@example.org
yan@example.net
EOF
{
  echo "id,name,amount,email,phone,card_number,iban,ssn,client_ip,contact"
  echo "1,Alice Smith,12.50,alice@example.com,+44 20 7946 0958,4111111111111111,GB82WEST12345698765432,078-05-1120,192.168.1.10,zed@example.org"
  echo "2,Bob Jones,7.25,bob.jones@example.org,+1 (415) 555-2671,5555555555554444,DE89370400440532013000,123-45-6789,10.0.0.1,yan@example.net"
  echo "3,Carol White,100.00,carol@mail.example.com,(555) 123-4567,378282246310005,NL91ABNA0417164300,219-09-9999,8.8.8.8,not an email"
  echo "4,Dan Brown,3.99,dan@example.com,555-123-4567,6011111111111117,FR1420041010050500013M02606,457-55-5462,172.16.0.5,"
  echo "5,Eve Black,0.01,eve@example.com,+33 6 12 34 56 78,4012888888881881,ES9121000418450200051332,234-56-7890,203.0.113.7,no"
} >people.csv

# no_pii_in DESC TEXT: none of the PII values occurs in TEXT
no_pii_in() {
  local leaked
  leaked=$(grep -F -f "$T/pii_values.txt" -o <<<"$2" | head -3)
  if [ -z "$leaked" ]; then ok "$1"; else nok "$1" "leaked: $leaked"; fi
}
# row_of TEXT COLUMN: the table line of COLUMN (first field equal to COLUMN)
row_of() { awk -v c="$2" '$1 == c' <<<"$1"; }
# check_row DESC TEXT COLUMN KIND RATE COUNTS
check_row() {
  local line
  line=$(row_of "$2" "$3")
  if [ -n "$line" ] && awk -v k="$4" -v r="$5" -v n="$6" '$2 == k && $3 == r && $4 == n { f = 1 } END { exit !f }' <<<"$line"; then
    ok "$1"
  else
    nok "$1" "expected: $3 $4 $5 $6"$'\n'"actual:   ${line:-<no row>}"$'\n'"output: $2"
  fi
}

section "scan a CSV file"
run_sluice scan people.csv
check_eq "scan: exit 0" 0 "$RC"
check_contains "scan: says how many rows" "$OUT" "scanned 5 rows of people.csv"
check_row "email column: email 100%" "$OUT" email email 100.0% 5/5
check_row "phone column: phone 100%" "$OUT" phone phone 100.0% 5/5
check_row "card_number column: credit_card 100%" "$OUT" card_number credit_card 100.0% 5/5
check_row "iban column: iban 100%" "$OUT" iban iban 100.0% 5/5
check_row "ssn column: ssn 100%" "$OUT" ssn ssn 100.0% 5/5
check_row "client_ip column: ipv4 100%" "$OUT" client_ip ipv4 100.0% 5/5
check_row "contact (no name hint, one null): email 50%" "$OUT" contact email 50.0% 2/4
check_contains "hinted columns are marked" "$(row_of "$OUT" email)" "(hint: name)"
check_not_contains "an unhinted column is not marked" "$(row_of "$OUT" contact)" "hint"
for c in id name amount; do
  check_eq "plain column '$c' is not reported" "" "$(row_of "$OUT" "$c")"
done
first=$(awk 'NR == 3 { print $1 }' <<<"$OUT")
last=$(awk 'NF { l = $1 } END { print l }' <<<"$OUT")
check_eq "sorted by rate: lowest rate last" contact "$last"
check_eq "sorted by rate: column order among equal rates" email "$first"
no_pii_in "text output holds no PII value" "$OUT$ERR"

section "--json"
run_sluice scan people.csv --json
check_eq "--json: exit 0" 0 "$RC"
check_eq "--json: top-level keys" "columns file rows_scanned" "$(json_get "$OUT" '" ".join(sorted(j))')"
check_eq "--json: file" people.csv "$(json_get "$OUT" 'j["file"]')"
check_eq "--json: rows_scanned" 5 "$(json_get "$OUT" 'j["rows_scanned"]')"
check_eq "--json: column keys" "column kind matches non_null rate" \
  "$(json_get "$OUT" '" ".join(sorted(j["columns"][0]))')"
check_eq "--json: columns and kinds" \
  "email:email phone:phone card_number:credit_card iban:iban ssn:ssn client_ip:ipv4 contact:email" \
  "$(json_get "$OUT" '" ".join(c["column"] + ":" + c["kind"] for c in j["columns"])')"
check_eq "--json: contact's rate, matches, non_null" "0.5 2 4" \
  "$(json_get "$OUT" '" ".join(str(c[k]) for c in j["columns"] if c["column"] == "contact" for k in ("rate", "matches", "non_null"))')"
check_eq "--json: card rate" "1.0" "$(json_get "$OUT" '[c["rate"] for c in j["columns"] if c["column"] == "card_number"][0]')"
no_pii_in "JSON output holds no PII value" "$OUT$ERR"

section "--rows, gzip, JSON lines"
run_sluice scan people.csv --rows 2 --json
check_eq "--rows 2: rows_scanned" 2 "$(json_get "$OUT" 'j["rows_scanned"]')"
check_eq "--rows 2: counts cover 2 rows" 2 "$(json_get "$OUT" '[c["non_null"] for c in j["columns"] if c["column"] == "ssn"][0]')"
gzip -c people.csv >people.csv.gz
run_sluice scan people.csv.gz
check_eq "gzip: exit 0" 0 "$RC"
check_row "gzip: card_number found" "$OUT" card_number credit_card 100.0% 5/5
printf '%s\n' '{"id":1,"user_email":"alice@example.com","note":"hi"}' '{"id":2,"user_email":"bob.jones@example.org","note":null}' \
  '{"id":3,"note":"x","client_ip":"192.168.1.10"}' >events.jsonl
run_sluice scan events.jsonl
check_eq "jsonl: exit 0" 0 "$RC"
check_row "jsonl: user_email found" "$OUT" user_email email 100.0% 2/2
check_row "jsonl: a key that appears late is found" "$OUT" client_ip ipv4 100.0% 1/1
check_eq "jsonl: plain key not reported" "" "$(row_of "$OUT" note)"
no_pii_in "jsonl: no PII value printed" "$OUT$ERR"
run_sluice scan plain.csv --rows 0
check_eq "--rows 0: exit 2" 2 "$RC"

section "no PII"
gen_csv plain.csv 1 50
run_sluice scan plain.csv
check_eq "no PII: exit 0" 0 "$RC"
check_contains "no PII: says so" "$OUT" "no PII found"
run_sluice scan plain.csv --json
check_eq "no PII: empty columns" "[]" "$(json_get "$OUT" 'j["columns"]')"

section "a pipeline"
mkdir -p pipe/data
cp people.csv pipe/data/part-1.csv
{ head -1 people.csv; sed -n 2,3p people.csv; } >pipe/data/part-2.csv
cat >pipe/pipeline.yaml <<'EOF'
name: people
source: { type: file, path: "data/part-*.csv" }
sink: { type: discard }
EOF
run_sluice scan pipe/pipeline.yaml
check_eq "pipeline: exit 0" 0 "$RC"
check_contains "pipeline: names the pipeline and files" "$OUT" "pipeline people (2 files)"
check_row "pipeline: ssn over both files" "$OUT" ssn ssn 100.0% 7/7
check_eq "pipeline: plain column not reported" "" "$(row_of "$OUT" amount)"
run_sluice scan pipe/pipeline.yaml --json
check_eq "pipeline --json: pipeline" people "$(json_get "$OUT" 'j["pipeline"]')"
check_eq "pipeline --json: rows_scanned" 7 "$(json_get "$OUT" 'j["rows_scanned"]')"
check_eq "pipeline --json: files" "part-1.csv part-2.csv" \
  "$(json_get "$OUT" '" ".join(f.rsplit("/", 1)[-1] for f in j["files"])')"
no_pii_in "pipeline: no PII value printed" "$OUT$ERR"
sed 's/part-\*.csv/nothing-*.csv/' pipe/pipeline.yaml >pipe/empty.yaml
run_sluice scan pipe/empty.yaml
check_eq "pipeline matching no file: exit 1" 1 "$RC"
check_contains "pipeline matching no file: names the pattern" "$ERR" "nothing-*.csv"
printf 'name: x\nsource: { type: file }\nsink: { type: discard }\n' >pipe/bad.yaml
run_sluice scan pipe/bad.yaml
check_eq "invalid pipeline: exit 2" 2 "$RC"

section "errors"
run_sluice scan missing-file.csv
check_eq "missing file: exit 1" 1 "$RC"
check_contains "missing file: named" "$ERR" "missing-file.csv"
run_sluice scan missing.yaml
check_eq "missing pipeline: exit 2" 2 "$RC"
check_contains "missing pipeline: named" "$ERR" "missing.yaml"
run_sluice scan
check_eq "no argument: exit 2" 2 "$RC"
echo hello >notes.bin
run_sluice scan notes.bin
check_eq "unknown format: exit 2" 2 "$RC"
check_contains "unknown format: named" "$ERR" "notes.bin"

finish
