// Alerts (capability G): a street worker drafts a yellow rainstorm warning for 平江街道 on the
// authoring page (area drawn on the map plus the street itself, reach preview), a second officer
// approves it (four-eyes) and it is issued; a resident's phone in another browser context shows
// it live (server-sent events); its CAP XML at the stable URL validates against the XSD the
// server ships (xmllint --schema); the worker cancels it and the cancel shows on the resident's
// page, again without reloading.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const STREET = "320508018000"; // 平江街道, 姑苏区

export default async function (t) {
  const { assert } = t;
  const errors = [];
  const watch = (who, page) => page.on("pageerror", (e) => errors.push(`${who}: ${e}`));
  const headline = `平江街道暴雨黄色预警 e2e ${Date.now() % 100000}`;

  // The resident's phone, open before anything is issued.
  const rctx = await t.context();
  const res = await rctx.newPage();
  watch("resident", res);
  await t.login(res, "jumin");
  await res.goto(t.base + "/public/alerts?division=" + STREET);
  assert.ok(!(await res.textContent("#public-list")).includes(headline));
  await res.waitForSelector("#alerts-map .leaflet-container, #alerts-map.leaflet-container");

  // The street worker drafts it.
  const sctx = await t.context({ viewport: { width: 1280, height: 900 } });
  const sw = await sctx.newPage();
  watch("street worker", sw);
  await t.login(sw, "shequ");
  await sw.goto(t.base + "/alerts/new");
  await sw.selectOption("select[name=category]", "Met");
  await sw.fill("input[name=event]", "暴雨");
  await sw.selectOption("#colour", "yellow");
  await sw.fill("input[name=headline]", headline);
  await sw.fill("textarea[name=description]", "预计未来 6 小时平江街道有 50 毫米以上降雨。");
  await sw.fill("textarea[name=instruction]", "减少外出，低洼地区居民注意防范积水。");
  await sw.fill("input[name=hours]", "6");

  // Draw a polygon on the map (click three corners, then Done): lon,lat text, reach preview.
  await sw.waitForSelector("#area-map.leaflet-container");
  await sw.click("#draw-polygon");
  // (After the click: it may have scrolled the page.)
  let box = await sw.locator("#area-map").boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await sw.mouse.click(cx - 80, cy - 60);
  await sw.mouse.click(cx + 80, cy - 60);
  await sw.mouse.click(cx, cy + 70);
  await sw.click("#draw-finish");
  const polygon = await sw.inputValue("input[name=polygon]");
  const corners = polygon.split(" ").map((p) => p.split(",").map(Number));
  assert.equal(corners.length, 3, `three corners: ${polygon}`);
  assert.ok(corners.every(([x, y]) => x > 120 && x < 121 && y > 31 && y < 32), `lon,lat order: ${polygon}`);
  await sw.waitForSelector("#reach #reach-households");
  assert.equal(await sw.locator("#area-map path.leaflet-interactive").count() >= 1, true, "the polygon is drawn");
  await sw.click("#draw-clear");
  assert.equal(await sw.inputValue("input[name=polygon]"), "");

  // Draw a circle (centre, then edge): the reach preview follows the drawing.
  await sw.click("#draw-circle");
  box = await sw.locator("#area-map").boundingBox();
  await sw.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await sw.mouse.click(box.x + box.width / 2 + 60, box.y + box.height / 2);
  await sw.waitForFunction(() => /^\d+\.\d+,\d+\.\d+ \d+$/.test(document.querySelector("input[name=circle]").value));
  const circle = await sw.inputValue("input[name=circle]");
  const [lon, lat] = circle.split(" ")[0].split(",").map(Number);
  assert.ok(lon > 120 && lon < 121 && lat > 31 && lat < 32, `circle centre in Suzhou, lon,lat order: ${circle}`);
  await sw.waitForSelector("#reach #reach-households");
  assert.ok(await sw.isVisible("#area-map .leaflet-control-attribution"), "map attribution shown");
  assert.match(await sw.textContent("#area-map .leaflet-control-attribution"), /OpenStreetMap/);
  assert.match(await sw.textContent("#area-map .leaflet-control-attribution"), /ODbL/);

  // Then clear the drawing and target the street itself (a division node).
  await sw.click("#draw-clear");
  assert.equal(await sw.inputValue("input[name=circle]"), "");
  await sw.check(`input.division-pick[value="${STREET}"]`);
  await sw.waitForFunction((s) => document.querySelector("#divisions").value.includes(s), STREET);
  await sw.waitForFunction(() => {
    const row = document.querySelector("#reach tbody tr td");
    return row && /平江街道/.test(row.textContent);
  });
  const households = Number((await sw.textContent("#reach-households")).trim());
  assert.ok(households > 0, `households reached: ${households}`);
  await sw.screenshot({ path: `${t.shots}/alerts-new.png`, fullPage: true });

  await Promise.all([sw.waitForNavigation(), sw.click("#save-draft")]);
  const alertPath = new URL(sw.url()).pathname;
  assert.match(alertPath, /^\/alerts\/\d+$/);
  assert.equal((await sw.textContent("#alert-state")).trim(), "草稿");
  await Promise.all([sw.waitForNavigation(), sw.click("#submit-alert")]);
  assert.equal((await sw.textContent("#alert-state")).trim(), "待审核");
  // The author may not approve (four-eyes): no approve button for them.
  assert.equal(await sw.locator("#approve-alert").count(), 0);

  // The second officer approves: issued as CAP 1.2 with a GB/T 35965.1 identifier.
  const mctx = await t.context({ viewport: { width: 1280, height: 900 } });
  const mz = await mctx.newPage();
  watch("approver", mz);
  await t.login(mz, "minzheng");
  await mz.goto(t.base + alertPath);
  await Promise.all([mz.waitForNavigation(), mz.click("#approve-alert")]);
  assert.equal((await mz.textContent("#alert-state")).trim(), "已发布");
  const ident = (await mz.textContent("#cap-identifier")).trim();
  assert.match(ident, /^\d{14}_\d{14}_\d+$/, `identifier ${ident}`);

  // Live on the resident's phone, without reloading.
  await res.waitForFunction((h) => document.querySelector("#public-list").textContent.includes(h), headline, { timeout: 15000 });
  const item = res.locator("#public-alerts li", { hasText: headline });
  assert.equal(await item.getAttribute("data-colour"), "yellow");
  assert.match(await item.textContent(), /黄色预警/);
  // Its area is on the resident's map (the street's grid outlines), coloured yellow.
  await res.waitForFunction(() => Number(document.querySelector("#alerts-map").dataset.shapes || 0) > 0, null, { timeout: 10000 });
  assert.ok(await res.locator('#alerts-map path[stroke="#f9a825"]').count() > 0, "yellow area on the map");
  assert.match(await res.textContent("#alerts-map .leaflet-control-attribution"), /OpenStreetMap.*ODbL/);
  const overflow = await res.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `public alerts page overflows the phone by ${overflow}px`);
  await res.screenshot({ path: `${t.shots}/alerts-public-375.png`, fullPage: true });

  // The CAP XML at its stable URL validates against the XSD the server ships.
  const id = alertPath.split("/").pop();
  const xml = await (await res.request.get(`${t.base}/cap/${id}.xml`)).text();
  const xsd = await (await res.request.get(`${t.base}/cap/CAP-v1.2.xsd`)).text();
  const dir = mkdtempSync(join(tmpdir(), "tongxin-cap-"));
  try {
    writeFileSync(join(dir, "alert.xml"), xml);
    writeFileSync(join(dir, "CAP-v1.2.xsd"), xsd);
    const out = execFileSync("xmllint", ["--noout", "--schema", join(dir, "CAP-v1.2.xsd"), join(dir, "alert.xml")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(out, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(xml.includes(`<identifier>${ident}</identifier>`));
  assert.ok(xml.includes("<msgType>Alert</msgType>"));
  assert.ok(xml.includes(`<value>${STREET}</value>`), "geocode of the street");
  const feed = await (await res.request.get(`${t.base}/cap/feed.atom`)).text();
  assert.ok(feed.includes(ident), "in the Atom feed");

  // The street worker cancels it; the resident's page shows the cancel live.
  await sw.goto(t.base + alertPath);
  await sw.fill("form:has(#cancel-alert) input[name=note]", "降雨减弱，预警解除");
  await Promise.all([sw.waitForNavigation(), sw.click("#cancel-alert")]);
  const cancelPath = new URL(sw.url()).pathname;
  assert.notEqual(cancelPath, alertPath);
  await res.waitForFunction((h) => !document.querySelector("#public-alerts").textContent.includes(h), headline, { timeout: 15000 });
  const lifted = res.locator("#lifted-alerts li", { hasText: headline });
  await lifted.waitFor({ timeout: 5000 });
  assert.match(await lifted.textContent(), /已解除/);
  await res.screenshot({ path: `${t.shots}/alerts-public-cancelled-375.png`, fullPage: true });

  // The Cancel is CAP too, referencing the original.
  const cid = cancelPath.split("/").pop();
  const cxml = await (await res.request.get(`${t.base}/cap/${cid}.xml`)).text();
  assert.ok(cxml.includes("<msgType>Cancel</msgType>") && cxml.includes(ident), "cancel references the original");

  assert.deepEqual(errors, [], "no script errors");
  for (const c of [rctx, sctx, mctx]) await c.close();
}
