"""User mistakes at the command line: one line naming the fix, a non-zero exit, never a traceback."""

from __future__ import annotations

import socket

import pytest
from cli_helpers import dead_address, log_run, python, run_cli

from neptune_sync.wire.token import ApiToken


def test_version():
    result = run_cli("--version")
    assert result.code == 0 and result.out.startswith("neptune-sync "), result


@pytest.mark.parametrize("command", ["show", "verify"])
def test_a_run_that_does_not_exist_is_named_with_where_to_look(command, isolated_data_dir):
    log_run("team/a")
    result = run_cli(command, "nosuch")
    assert result.code == 2, result
    assert "no run 'nosuch'" in result.err and "neptune-sync ls" in result.err, result


def test_data_dir_option_on_every_command_that_reads_it(tmp_path):
    other = tmp_path / "elsewhere"
    log_run("team/a")  # in the default (NEPTUNE_SYNC_DIR) data dir, not in `other`
    other.mkdir()
    for command in (["ls"], ["verify"], ["status"]):
        result = run_cli(*command, "--data-dir", str(other))
        assert result.code == 0 and "team/a" not in result.out and "team_a" not in result.out, result
    missing = run_cli("ls", "--data-dir", str(tmp_path / "missing"))
    assert missing.code == 2 and "is not a directory" in missing.err, missing


def test_sync_names_a_run_that_does_not_exist(isolated_data_dir):
    token = ApiToken(dead_address(), "nss_x").format()
    result = run_cli("sync", "nosuch", env={"NEPTUNE_API_TOKEN": token})
    assert result.code == 2 and "no run or directory 'nosuch'" in result.err, result


def test_sync_without_a_token_says_how_to_get_one(isolated_data_dir):
    log_run("team/a")
    result = run_cli("sync")
    assert result.code == 2 and "NEPTUNE_API_TOKEN" in result.err and "token create" in result.err, result


def test_a_bad_daemon_config_file_is_named(tmp_path):
    config = tmp_path / "daemon.toml"
    config.write_text('conflict_policy = "sometimes"\n')
    result = run_cli("status", "--config", str(config))
    assert result.code == 2 and str(config) in result.err and "conflict_policy" in result.err, result
    config.write_text('[projects."noslash"]\napi_token = "x"\n')
    result = run_cli("status", "--config", str(config))
    assert result.code == 2 and "'noslash'" in result.err, result


def test_server_on_a_busy_port_says_so(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("server", "--data", str(tmp_path / "store"), "--port", str(port), timeout=60)
    assert result.code == 2, result
    assert f"cannot listen on 127.0.0.1:{port}" in result.err and "--port" in result.err, result


def test_server_with_an_unreachable_postgresql_names_it_without_the_password(tmp_path):
    dsn = dead_address().replace("http://", "postgresql://user:s3cret@") + "/db"
    for command in (["server", "--port", "0"], ["server", "token", "create", "--project", "a/b"]):
        result = run_cli(*command, "--data", str(tmp_path / "store"), "--db", dsn, timeout=60)
        assert result.code == 2, result
        assert "cannot open the database (PostgreSQL at 127.0.0.1:" in result.err, result
        assert "s3cret" not in result.err, result


def test_init_run_refuses_a_project_name_the_store_would_refuse():
    result = python("import neptune_sync as n; n.init_run(project='noslash', mode='offline')")
    assert result.code != 0 and "'workspace/project'" in result.err, result


def test_async_mode_says_at_init_run_why_nothing_is_shipped(isolated_data_dir):
    script = "import neptune_sync as n; r = n.init_run(project='team/a'); r['x'] = 1; r.stop()"
    env = {"NEPTUNE_SYNC_NO_DAEMON": "", "NEPTUNE_SYNC_DAEMON_CONFIG": ""}
    missing = python(script, env=env)
    assert missing.code == 0 and "no API token" in missing.err and "NEPTUNE_API_TOKEN" in missing.err, missing
    garbage = python(script, env={**env, "NEPTUNE_API_TOKEN": "garbage"})
    assert garbage.code != 0 and "AuthError" in garbage.err and "token create" in garbage.err, garbage
    assert not (isolated_data_dir / "daemon.log").exists()  # no daemon was started to fail later


def test_stop_waiting_on_a_down_store_says_so(isolated_data_dir):
    token = ApiToken(dead_address(), "nss_x").format()
    script = "import neptune_sync as n; r = n.init_run(project='team/a'); r['x'] = 1; r.stop(seconds=3)"
    try:
        result = python(script, env={"NEPTUNE_SYNC_NO_DAEMON": "", "NEPTUNE_API_TOKEN": token})
    finally:
        run_cli("status")  # the daemon this started keeps retrying: end it
        lock = isolated_data_dir / "daemon.lock"
        pid = int(lock.read_text().strip() or 0) if lock.exists() else 0
        if pid:
            import os
            import signal

            os.kill(pid, signal.SIGTERM)
    assert result.code == 0, result
    assert "waiting up to 3 s for the sync daemon" in result.err, result
    assert "not everything is synced yet" in result.err, result


def test_one_exception_tree_the_stores_http_errors_are_the_clients():
    from neptune_sync import exceptions
    from neptune_sync_store import errors

    assert issubclass(errors.RequestError, exceptions.StoreError)
    assert issubclass(errors.Unauthorized, exceptions.Unauthorized)
    assert issubclass(errors.Forbidden, exceptions.Forbidden)
    assert issubclass(exceptions.CommandError, exceptions.NeptuneUserError)
    assert issubclass(exceptions.NoCredentialsError, exceptions.StoreError)
