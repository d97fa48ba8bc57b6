"""Local stand-ins for everything outside the code: moto for AWS, simulators of the external APIs, a
local Lambda runtime and a virtual clock, so the whole system runs on one machine."""
