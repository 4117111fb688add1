-- No query reads households by address through an index: the household list's address search
-- is a substring match (LIKE '%…%'), which a B-tree cannot serve on either backend. The index
-- only cost every household write and, at city scale, a quarter of the seed's index build.
DROP INDEX IF EXISTS households_address;
