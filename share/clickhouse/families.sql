-- Connects per address family, as `conntrail report --by family`.
SELECT family, count() AS connects
FROM conntrail.connects
GROUP BY family
ORDER BY connects DESC, family ASC
