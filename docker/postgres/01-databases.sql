-- Run once by the postgres image, on its first start with an empty data volume
-- (/docker-entrypoint-initdb.d), as the POSTGRES_USER of docker-compose.yml, who owns them.
-- One database per deployable, named as in strangler_cli/databases.py; each URL in
-- docker-compose.yml names one of these (tests/integration/test_compose.py checks both ways).
CREATE DATABASE monolith;
CREATE DATABASE catalog;
CREATE DATABASE notifications;
CREATE DATABASE proxy;
