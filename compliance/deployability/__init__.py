"""Whether AWS would allow the calls between services that the synthesized templates wire together."""
