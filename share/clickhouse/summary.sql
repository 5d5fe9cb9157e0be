-- The head of `conntrail report`: connects, hosts, distinct destinations
-- and programs (both per host), first and last connect.
SELECT
    count() AS connects,
    uniqExact(host) AS hosts,
    uniqExact(host, family, if(family IN ('AF_INET', 'AF_INET6'), proto, ''), daddr, dport,
              path) AS destinations,
    uniqExact(host, comm, exe) AS programs,
    min(ts_ns) AS first_ns,
    max(ts_ns) AS last_ns
FROM conntrail.connects
