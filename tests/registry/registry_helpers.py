"""Names the registry tests share."""

PROJECT = "team/registry"
MODEL = "REGIST-MOD"  # the project key of team/registry is REGIST
