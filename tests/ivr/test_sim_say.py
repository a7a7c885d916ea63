"""The simulator says dates, times and letters as the IVR asks (SAY DATETIME, SAY DATE,
SAY TIME, SAY ALPHA): result 0 once spoken, the escape key's code when pressed, usage (520)
for a time that is not a number."""
from tests.pbxsim.test_engine_agi import AGIWorld


def spoken(world, command, seconds):
    world.transport.clear()
    world.proto.dataReceived(command.encode() + b"\n")
    world.clock.advance(0)
    assert world.transport.value() == b"", f"{command} answered before it was said"
    world.clock.advance(seconds)
    return world.transport.value().decode()


def test_say_datetime_takes_time_per_field_then_answers_0():
    world = AGIWorld()
    assert spoken(world, 'SAY DATETIME 1797652800 "" YBd Asia/Shanghai', 1.5) == "200 result=0\n"


def test_say_date_time_and_alpha_answer_0():
    world = AGIWorld()
    assert spoken(world, 'SAY DATE 1797652800 ""', 1.5) == "200 result=0\n"
    assert spoken(world, 'SAY TIME 1797652800 ""', 1.5) == "200 result=0\n"
    assert spoken(world, 'SAY ALPHA abc ""', 1.5) == "200 result=0\n"


def test_an_escape_key_stops_saying_and_is_the_result():
    world = AGIWorld()
    world.transport.clear()
    world.proto.dataReceived(b'SAY DATETIME 1797652800 "#" YBd\n')
    world.clock.advance(0.2)
    world.pbx.emit_dtmf_from_caller(world.chan, "#")
    world.clock.advance(0)
    assert world.transport.value() == b"200 result=35\n"


def test_a_time_that_is_not_a_number_gets_the_usage():
    world = AGIWorld()
    assert world.send('SAY DATETIME tomorrow ""').startswith("520-Invalid command syntax.")
