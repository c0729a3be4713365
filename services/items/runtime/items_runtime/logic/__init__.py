"""Business rules, independent of HTTP, Lambda and AWS clients."""
