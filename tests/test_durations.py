from symgnn.durations import format_duration


def test_format_duration_reads_at_every_scale():
    assert format_duration(0.04) == "0.0 s"
    assert format_duration(4.26) == "4.3 s"
    assert format_duration(59.94) == "59.9 s"
    assert format_duration(59.96) == "1.0 min"
    assert format_duration(150) == "2.5 min"
    assert format_duration(3599) == "1.0 h"
    assert format_duration(5400) == "1.5 h"
