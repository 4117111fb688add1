-- Volunteer lists at city scale: a city- or district-wide page walks the sort-key index in order
-- and stops after one page; the filter columns ride in the index so rows that do not match are
-- skipped without reading the table. Sorting by last update gets its own index.
DROP INDEX volunteers_name;
CREATE INDEX volunteers_name ON volunteers(name, id, division_path, insured, available_now, real_name, skills, cert_kinds);
CREATE INDEX volunteers_updated ON volunteers(updated_at, id, division_path);
