"""What the staff console looks like (issue 9): the pulsing alarm badge stays readable in
every frame of its animation, and still when motion is reduced; the queue's search hint
is not cut off; a disabled button (sync now, before HQ is set up) looks disabled.
Texts are the Chinese default UI; English is checked where its text is longer."""
from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import CATS, report

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
NAME, PIN = "王芳", "2468"

#: The badge's text and background colours, composited over the row below it, at
#: ``frames`` moments of each running animation (paused there); with none running, now.
BADGE_FRAMES = """(frames) => {
  const badge = document.querySelector('.alarm-badge');
  const rgba = c => { const v = c.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const row = rgba(getComputedStyle(badge.closest('tr')).backgroundColor);
  const under = over(row, [255, 255, 255]);
  const sample = () => { const s = getComputedStyle(badge), alpha = Number(s.opacity);
    const bg = over(rgba(s.backgroundColor), under), fg = over(rgba(s.color), bg);
    return {bg: over([...bg, alpha], under), fg: over([...fg, alpha], under)}; };
  const animations = badge.getAnimations();
  if (!animations.length) return {running: 0, samples: [sample()]};
  const samples = [];
  for (const a of animations) {
    const end = a.effect.getComputedTiming().duration * 2;  // alternate: there and back
    a.pause();
    for (let i = 0; i <= frames; i++) { a.currentTime = end * i / frames; samples.push(sample()); }
  }
  return {running: animations.length, samples};
}"""


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def staffed_kiosk(make_server):
    server = make_server()
    server.app.extensions["staff_directory"].add(NAME, "manager", PIN, actor=SIGNER,
                                                 now=datetime.now(timezone.utc))
    return server


def sign_in(page: Page, server, path: str = "/staff/") -> None:
    page.goto(server.url + path)
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".staff-who")).to_have_text(f"{NAME} · 经理")


def test_the_alarm_badge_is_readable_in_every_frame(page: Page, make_server, open_phone,
                                                     page_errors):
    server = staffed_kiosk(make_server)
    report(open_phone(server.url), CATS["emergency"])
    sign_in(page, server)
    for motion, pulses in (("no-preference", 1), ("reduce", 0)):
        page.emulate_media(reduced_motion=motion)
        page.reload()
        expect(page.locator(".alarm-badge")).to_be_visible()
        seen = page.evaluate(BADGE_FRAMES, 20)
        assert seen["running"] == pulses, motion  # it pulses, unless motion is reduced
        ratios = [contrast(s["fg"], s["bg"]) for s in seen["samples"]]
        assert min(ratios) >= 4.5, (motion, ratios)


def test_the_queue_search_hint_is_not_cut_off(page: Page, make_server, page_errors):
    server = staffed_kiosk(make_server)
    sign_in(page, server)
    for lang, heading in (("zh_Hans_CN", "待办"), ("en", "Queue")):
        page.goto(f"{server.url}/lang/{lang}?next=/staff/")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        for size in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
            page.set_viewport_size(size)
            fits = page.locator("#queue-filters input[name=q]").evaluate("""input => {
                const s = getComputedStyle(input), ctx = document.createElement('canvas').getContext('2d');
                ctx.font = s.font;
                const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
                return {text: input.placeholder, needs: ctx.measureText(input.placeholder).width, room};
            }""")
            assert fits["text"] and fits["needs"] <= fits["room"], (lang, size, fits)


def test_a_disabled_button_looks_disabled(page: Page, make_server, page_errors):
    server = staffed_kiosk(make_server)
    sign_in(page, server, "/staff/sync")
    now = page.get_by_role("button", name="立即同步")
    expect(now).to_be_disabled()  # HQ is not set up yet
    save = page.get_by_role("button", name="保存", exact=True)  # an enabled primary button
    style = """b => { const s = getComputedStyle(b);
        return {bg: s.backgroundColor, fg: s.color, border: s.borderTopStyle, cursor: s.cursor}; }"""
    off, on = now.evaluate(style), save.evaluate(style)
    assert off["bg"] != on["bg"] and off["fg"] != on["fg"], (off, on)
    assert (off["border"], off["cursor"]) == ("dashed", "not-allowed"), off
