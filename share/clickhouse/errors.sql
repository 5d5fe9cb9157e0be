-- Connects per final error (the errors of `conntrail report --by result`):
-- errno number, its name, connects.
SELECT
    -assumeNotNull(result) AS errno,
    anyIf(outcome, outcome != 'abandoned') AS name,
    count() AS connects
FROM conntrail.connects
WHERE result < 0 AND result > -4096
GROUP BY errno
ORDER BY connects DESC, errno ASC
