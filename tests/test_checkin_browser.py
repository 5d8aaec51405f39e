"""Scanning a check-in code in a real Chromium: the leader's page renders the QR, the test decodes
the screenshot (zxing-cpp), and the volunteer opens the decoded URL and checks in."""

from __future__ import annotations

import struct
import zlib

import pytest

from models import Assignment, Role, TeamMembership, db, utcnow
from tests.factories import PASSWORD, make_assignment, make_shift, make_team, make_user
from tests.test_roster_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def png_to_gray(data: bytes) -> tuple[bytes, int, int]:
    """Chromium's screenshot PNG (8-bit RGB/RGBA, not interlaced) as 8-bit grey pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[0::channels]))  # the red channel: the code is black on white
        prev = line
    return b"".join(rows), width, height


def test_volunteer_scans_the_leaders_code_and_checks_in(live_server, browser, app):  # noqa: F811
    import zxingcpp

    coordinator = make_user(Role.COORDINATOR, email="c@scan.example")
    wang = make_user(Role.VOLUNTEER, email="wang@scan.example", name="王芳")
    lead = make_user(Role.VOLUNTEER, email="lead@scan.example", name="赵磊")
    team = make_team(coordinator=coordinator, members=[wang, lead], code="T001")
    db.session.query(TeamMembership).filter_by(user_id=lead.id).one().is_leader = True
    shift = make_shift(team, utcnow().replace(microsecond=0), hours=3)  # started now: the window is open
    assignment = make_assignment(shift, wang)
    db.session.commit()

    def logged_in(email):
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = context.new_page()
        page.goto(f"{live_server}/login?lang=en")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    leader = logged_in("lead@scan.example")
    leader.goto(f"{live_server}/checkin/shift/{shift.id}")
    shot = leader.locator("svg.checkin-qr").screenshot()
    pixels, width, height = png_to_gray(shot)
    found = zxingcpp.read_barcodes(zxingcpp.ImageView(pixels, width, height, zxingcpp.ImageFormat.Lum))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    url = found[0].text
    assert url.startswith(live_server + f"/checkin/s/{shift.id}/")

    volunteer = logged_in("wang@scan.example")
    volunteer.goto(url)
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).checked_in_at is None  # opening the URL writes nothing
    volunteer.click("#confirm-checkin")
    volunteer.wait_for_selector("#checked-in")
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).checked_in_at is not None
    leader.reload()
    assert "T001-002" in leader.content()
