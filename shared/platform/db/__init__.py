"""The job store: a relational database that is the source of truth for jobs and datasets
(their files stay in the artifact store). SQLAlchemy 2 with Alembic migrations; an embedded
SQLite file under ARTIFACTS_DIR by default, PostgreSQL when DATABASE_URL names one."""
