# bench/parts/clickhouse.sh: P8, loading into ClickHouse (opt-in).
# Sourced by bench/run.sh, whose settings (W, CT, HB, SCALE, ROUNDS, ...)
# and helpers it uses.

# ------------------------------------------------------------- ClickHouse
# P8 (opt-in: at scale 1 it loads 100 M rows twice a round, tens of minutes
# on 2 cores): one clickhouse-server of ours (tests/helpers/clickhouse.sh),
# the same generated trace (P8_N events) loaded into a MergeTree table as
# `convert --to clickhouse` RowBinary and as `convert --to jsonl` with
# JSONEachRow (into a table typed as the JSON is: addresses as text), in
# turn; then share/clickhouse/destinations.sql against `report --by dest`
# on the same events. Wall times: the work is in the server's process.
P8_N=$(scaled 100000000)
p8() {
	log "P8 ClickHouse: $P8_N events"
	# shellcheck source=/dev/null
	. tests/helpers/clickhouse.sh
	if ! ch_find; then
		note "P8: clickhouse-server/clickhouse-client not installed (make deps)"
		return
	fi
	local port t0 rb_ns js_ns
	if ! "$GEN" -n "$P8_N" --seed 9 --host bench-host -o "$W/p8.ctr" 2>"$W/gen.err"; then
		note "P8: conntrail-gen failed: $(head -c 200 "$W/gen.err")"
		return
	fi
	port=$(ch_free_port)
	ch_start "$W/ch" "$port" "$port" || { note "P8: clickhouse-server did not start"; return; }
	bg_started "$(cat "$W/ch/pid")"
	ch_sql "$port" --multiquery <share/clickhouse/schema.sql
	# The JSON lines' own typing: what JSONEachRow can fill from them.
	sed -e 's/connects_local/connects_json/' \
		-e 's/FixedString(16)/String/' -e '/^CREATE TABLE IF NOT EXISTS conntrail.connects AS/,$d' \
		share/clickhouse/schema.sql | ch_sql "$port" --multiquery
	put p8.events "$P8_N"
	put p8.ch_version "$(ch_sql "$port" --query 'SELECT version()')"
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		ch_sql "$port" --query 'TRUNCATE TABLE conntrail.connects_local'
		ch_sql "$port" --query 'TRUNCATE TABLE conntrail.connects_json'
		t0=$(now_ns)
		"$CT" convert -q "$W/p8.ctr" --to clickhouse -o - |
			ch_sql "$port" --query 'INSERT INTO conntrail.connects_local FORMAT RowBinary' ||
			{ note "P8: RowBinary load failed"; break; }
		rb_ns=$(($(now_ns) - t0))
		t0=$(now_ns)
		"$CT" convert -q "$W/p8.ctr" --to jsonl -o - |
			ch_sql "$port" --input_format_skip_unknown_fields=1 \
				--query 'INSERT INTO conntrail.connects_json FORMAT JSONEachRow' ||
			{ note "P8: JSONEachRow load failed"; break; }
		js_ns=$(($(now_ns) - t0))
		put p8.rowbinary_ns "$rb_ns"
		put p8.jsonl_ns "$js_ns"
		t0=$(now_ns)
		sed 's/conntrail\.connects$/conntrail.connects_local/' share/clickhouse/destinations.sql \
			>"$W/p8-top.sql"
		ch_sql "$port" --query "$(cat "$W/p8-top.sql")" >/dev/null ||
			{ note "P8: destinations.sql failed"; break; }
		put p8.sql_top_ns $(($(now_ns) - t0))
		t0=$(now_ns)
		"$CT" report -q --by dest "$W/p8.ctr" >/dev/null
		put p8.report_top_ns $(($(now_ns) - t0))
	done
	put p8.rows "$(ch_sql "$port" --query 'SELECT count() FROM conntrail.connects_local')"
	put p8.ch_bytes "$(ch_sql "$port" --query "SELECT sum(bytes_on_disk) FROM system.parts
		WHERE database = 'conntrail' AND table = 'connects_local' AND active")"
	put p8.ctr_bytes "$(fsize "$W/p8.ctr")"
	ch_stop "$W/ch"
	rm -f "$W/p8.ctr"
}
