# tests/helpers/clickhouse.sh: sourced by tests/cli/clickhouse.sh and
# bench/run.sh. Starts ClickHouse servers as plain processes of ours (no
# service manager, no /etc or /var files): each with its own config, data
# directory and loopback ports, and a remote_servers section naming the
# cluster `conntrail` that share/clickhouse/schema.sql's Distributed table
# spreads over.
#
#   ch_find                       sets CH_SERVER, CH_CLIENT; 1 when absent
#   ch_free_port                  prints a free loopback TCP port
#   ch_start DIR PORT SHARD_PORT... one server on PORT, the cluster's shards
#                                 on SHARD_PORT... (its own port among them);
#                                 0 once it answers, else 1 (its log printed)
#   ch_stop DIR                   stops the server started in DIR
#   ch_sql PORT ARGS...           clickhouse-client on PORT

ch_find() {
	CH_SERVER=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
	CH_CLIENT=$(command -v clickhouse-client || echo /usr/bin/clickhouse-client)
	[ -x "$CH_SERVER" ] && [ -x "$CH_CLIENT" ]
}

ch_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ch_sql() {
	local port=$1
	shift
	"$CH_CLIENT" --host 127.0.0.1 --port "$port" "$@"
}

ch_start() {
	local dir=$1 port=$2 p shards=""
	shift 2
	for p in "$@"; do
		shards+="<shard><replica><host>127.0.0.1</host><port>$p</port></replica></shard>"
	done
	mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log"
	# Caches small: the servers share a test machine. No HTTP port: the
	# native protocol is all the client and the Distributed engine use.
	cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$port</tcp_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_concurrent_queries>20</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <mlock_executable>false</mlock_executable>
    <remote_servers>
        <conntrail>$shards</conntrail>
    </remote_servers>
</yandex>
EOF
	cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <max_threads>2</max_threads>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
	"$CH_SERVER" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
	echo $! >"$dir/pid"
	local i
	for ((i = 0; i < 300; i++)); do
		if ch_sql "$port" --query 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			break
		fi
		sleep 0.2
	done
	echo "clickhouse-server on port $port did not start:" >&2
	tail -n 20 "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null
	return 1
}

ch_stop() {
	local dir=$1 pid i
	[ -s "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$dir/pid"
}
