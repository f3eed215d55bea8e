# Compresses the inputs here, so that no binary file is checked in.
set -e
cd input
gzip -n a.csv                                   # a.csv.gz
{ gzip -n -c b_part1.csv; gzip -n -c b_part2.csv; } >b_members.csv.gz   # two gzip members, one stream
rm b_part1.csv b_part2.csv
zstd -q --rm c.jsonl                            # c.jsonl.zst
gzip -n -c d_no_suffix.csv >d.tmp && mv d.tmp d_no_suffix.csv   # gzip inside, found by its first bytes
zstd -q --rm e.csv                              # e.csv.zst
