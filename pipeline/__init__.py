"""The self-mutating CDK pipeline that delivers the application through dev, staging and prod."""
