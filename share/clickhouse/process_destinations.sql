-- The top five destinations of every program (host, comm, exe), as
-- `conntrail report --by process` lists under each one: connects of that
-- program there; ties go to the destination first connected to (by anyone).
SELECT host, comm, exe, dest, proto_key, connects
FROM
(
    SELECT
        host, comm, exe, family, proto_key, daddr, dport, path,
    multiIf(family = 'AF_INET', concat(replaceOne(IPv6NumToString(daddr), '::ffff:', ''), ':', toString(dport)),
            family = 'AF_INET6', concat('[', IPv6NumToString(daddr), ']:', toString(dport)),
            family = 'AF_UNIX', if(path = '', '(unnamed)', path),
            family) AS dest,
        count() AS connects
    FROM conntrail.connects
    GROUP BY host, comm, exe, family,
             if(family IN ('AF_INET', 'AF_INET6'), proto, '') AS proto_key, daddr, dport, path
)
ANY LEFT JOIN
(
    SELECT host, family, if(family IN ('AF_INET', 'AF_INET6'), proto, '') AS proto_key,
           daddr, dport, path, min(ts_ns) AS dest_first_ns
    FROM conntrail.connects
    GROUP BY host, family, proto_key, daddr, dport, path
) USING (host, family, proto_key, daddr, dport, path)
ORDER BY host, comm, exe, connects DESC, dest_first_ns ASC
LIMIT 5 BY host, comm, exe
