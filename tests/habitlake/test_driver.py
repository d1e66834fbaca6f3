"""The long-lived driver (habitlake/driver.py) for real: a `habitlake driver` process with its own
Spark session, steps sent to it by the DAGs' launcher (HABITLAKE_RUNNER=driver) over its socket."""
import pytest

from habitlake import driver, launch
from habitlake.settings import Settings


@pytest.fixture(scope="module")
def running_driver(test_env, spark):
    settings = Settings.from_env(test_env)
    ping = driver.start(settings, env={**test_env, "HABITLAKE_DRIVER_MEMORY": "1g"})
    yield settings, ping
    driver.stop(settings)


def _step(test_env, *argv):
    lines = []
    launch.run(list(argv), env={**test_env, "HABITLAKE_RUNNER": "driver"}, echo=lines.append)
    return lines


def _app_id(lines):
    return next(line.split(",", 1)[1] for line in lines if line.startswith("spark.app.id,"))


def test_steps_run_one_after_another_in_the_drivers_warm_session(running_driver, test_env, spark):
    settings, ping = running_driver
    assert ping["root"] == settings.root and ping["steps"] == 0
    first = _step(test_env, "sql", "SET spark.app.id", "--format", "csv")
    second = _step(test_env, "sql", "SELECT 41 + 1 AS answer", "--format", "csv")
    third = _step(test_env, "sql", "SET spark.app.id", "--format", "csv")

    assert f"[habitlake driver pid {ping['pid']}, step 1]" in first
    assert second[1:4] == [f"[habitlake driver pid {ping['pid']}, step 2]", "answer", "42"]
    assert _app_id(first) == _app_id(third) != spark.sparkContext.applicationId  # one session, not ours
    assert driver.ping(settings)["steps"] == 3


def test_a_failing_step_fails_its_task_with_the_error_and_the_driver_serves_on(running_driver, test_env):
    settings, ping = running_driver
    before = driver.ping(settings)["steps"]
    with pytest.raises(launch.StepFailed, match=r"habitlake sql SELECT \* FROM no_such_table exited with 1.*no_such_table"):
        _step(test_env, "sql", "SELECT * FROM no_such_table")
    assert _step(test_env, "sql", "SELECT 'still here' AS s", "--format", "csv")[-2] == "still here"
    assert driver.ping(settings)["steps"] == before + 2


def test_a_step_for_another_root_is_refused(running_driver, test_env, tmp_path):
    settings, _ = running_driver
    other = {**test_env, "HABITLAKE_HOME": str(tmp_path), "HABITLAKE_STATE": str(settings.state_dir)}
    with pytest.raises(launch.StepFailed, match=f"serves the root {settings.root}, not {tmp_path}"):
        _step(other, "sql", "SELECT 1")


def test_without_a_driver_the_step_runs_in_the_task_process(test_env, spark, running_driver, capsys):
    settings, _ = running_driver
    assert driver.stop(settings) is True
    assert driver.status(settings).startswith("habitlake driver: not running")
    lines = _step(test_env, "sql", "SET spark.app.id", "--format", "csv")
    assert f"no habitlake driver answers at {driver.socket_path(settings)}: the step runs in this process" in lines
    printed = capsys.readouterr().out.splitlines()  # in this process the step prints to the task's stdout
    assert _app_id(printed) == spark.sparkContext.applicationId


def test_no_driver_answers_for_a_root_without_one(tmp_path):
    settings = Settings.from_env({"HABITLAKE_HOME": str(tmp_path)})
    assert driver.ping(settings) is None
    assert driver.status(settings) == f"habitlake driver: not running (socket {tmp_path}/driver/driver.sock)"


def test_a_state_folder_too_deep_for_a_unix_socket_is_a_clear_error(tmp_path):
    deep = tmp_path / ("d" * 100)
    with pytest.raises(ValueError, match="longer than 100 characters .* set HABITLAKE_STATE to a shorter folder"):
        driver.socket_path(Settings.from_env({"HABITLAKE_HOME": str(deep)}))
