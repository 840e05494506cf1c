"""What every module runs on: settings, database, unit of work, in-process events, HTTP plumbing."""
