"""Developer tools that are not part of the shipped packages: a throwaway PostgreSQL cluster, local replicas."""
