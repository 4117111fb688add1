// Incidents, graded mobilisation and dispatch (B, C, D) in the browser, with live updates:
// a grid worker reports an incident with a photo (the map draws the district outlines with
// their ODbL attribution, offline), the commander raises its response level, the organisation
// admin's mobilisation page shows the standby notice without reloading (second context), the
// commander dispatches a task, the volunteer accepts it on a phone-sized page, checks in and
// out with the device location, and sees the service hours.
import { deflateSync } from "node:zlib";

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

// A small PNG drawn here (water below, sky above), with an eXIf chunk carrying GPS text that the
// server must remove.
function photoPng(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const water = y > h * 0.6;
      raw[o] = water ? 90 : 160; raw[o + 1] = water ? 110 : 190; raw[o + 2] = water ? 120 : 230;
    }
  }
  const exif = Buffer.from("MM\0*\0\0\0\x08GPSLatitude=31.3172N", "latin1");
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("eXIf", exif),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

export default async function (t) {
  const { assert } = t;
  const errors = [];
  const watch = (page) => page.on("pageerror", (e) => errors.push(String(e)));
  const desk = { viewport: { width: 1280, height: 900 } };
  const title = "e2e 平江路人群聚集 " + Date.now();
  // Where the demo volunteer (zhiyuan) is registered, near 平江路 (demo data).
  const here = { longitude: 120.6318, latitude: 31.3186 };

  // 1. The grid worker reports, with a photo; the map shows the districts offline.
  const wctx = await t.context(desk);
  const wg = await wctx.newPage();
  watch(wg);
  await t.login(wg, "wangge");
  await wg.goto(t.base + "/incidents");
  await wg.waitForSelector("#map[data-districts-drawn]");
  assert.equal(await wg.getAttribute("#map", "data-districts-drawn"), "9", "the 9 district outlines are drawn");
  assert.ok((await wg.locator("#map path.district").count()) >= 9, "district paths on the map");
  const attribution = await wg.textContent("#map .leaflet-control-attribution");
  assert.match(attribution, /OpenStreetMap/);
  assert.match(attribution, /ODbL/);
  assert.equal(await wg.locator("#map .leaflet-tile").count(), 0, "no tiles configured: nothing fetched from outside");
  // The browser's WGS-84 → GCJ-02 transform (used with Chinese basemaps) agrees with the published
  // pair that crates/area checks too, and its inverse returns to WGS-84.
  const geo = await wg.evaluate(() => {
    const g = window.tongxinGeo.toGcj(116.404, 39.915);
    const w = window.tongxinGeo.fromGcj(...window.tongxinGeo.toGcj(120.6335, 31.3172));
    return { g, w };
  });
  assert.ok(Math.abs(geo.g[0] - 116.41024449916938) < 1e-9 && Math.abs(geo.g[1] - 39.91640428150164) < 1e-9, JSON.stringify(geo));
  assert.ok(Math.abs(geo.w[0] - 120.6335) < 1e-8 && Math.abs(geo.w[1] - 31.3172) < 1e-8, JSON.stringify(geo));
  // Scoped: the demo incidents lie outside the grid worker's grid.
  await wg.waitForSelector("#map[data-incidents]");
  const ownBefore = Number(await wg.getAttribute("#map", "data-incidents"));
  await wg.fill("#report-form input[name=title]", title);
  await wg.selectOption("#category", "social");
  await wg.selectOption("#subtype", "crowd");
  await wg.selectOption("#report-form select[name=severity]", "0");
  await wg.fill("#report-form textarea[name=description]", "观前街灯会人流密集，入口处拥堵，需疏导");
  await wg.setInputFiles("#report-photos", { name: "../../etc/现场.png", mimeType: "image/png", buffer: photoPng(96, 64) });
  await Promise.all([wg.waitForURL(/\/incidents\/\d+$/), wg.click("#report-submit")]);
  const incUrl = wg.url();
  const incId = Number(incUrl.split("/").pop());
  assert.match(await wg.textContent("#incident-title"), /人群聚集/);
  const img = wg.locator("#photos img").first();
  await img.waitFor();
  assert.equal(await img.getAttribute("alt"), "现场.png", "the file name is shown as text, path removed");
  await wg.waitForFunction(() => { const i = document.querySelector("#photos img"); return i && i.complete && i.naturalWidth === 96; });
  const photo = await wg.request.get(t.base + (await img.getAttribute("src")));
  assert.equal(photo.headers()["content-type"], "image/png");
  assert.equal(photo.headers()["x-content-type-options"], "nosniff");
  assert.ok(!(await photo.body()).includes("GPSLatitude"), "the location metadata was removed");

  // The new incident is on the grid worker's map now.
  await wg.goto(t.base + "/incidents");
  await wg.waitForSelector("#map[data-incidents]");
  assert.equal(Number(await wg.getAttribute("#map", "data-incidents")), ownBefore + 1, "the report is on the map");
  assert.ok((await wg.locator("#map path.incident").count()) >= 1);

  // 2. The organisation admin watches the mobilisation page (phone-sized, second context).
  const zctx = await t.context();
  const zz = await zctx.newPage();
  watch(zz);
  await t.login(zz, "zuzhi");
  await zz.goto(t.base + "/mobilisation");
  const noticesBefore = await zz.locator("#live .card").count();

  // 3. The commander raises the response level to 4 (the social-security plan: standby of every
  // organisation within 5 km); the standby notice appears live for zuzhi.
  const cctx = await t.context(desk);
  const cmd = await cctx.newPage();
  watch(cmd);
  await t.login(cmd, "commander");
  await cmd.goto(incUrl);
  await cmd.selectOption("#level-select", "4");
  await Promise.all([cmd.waitForURL(incUrl), cmd.click("#level-submit")]);
  assert.match(await cmd.textContent("#level"), /四级/);
  const notice = zz.locator(`#live .card:has(a[href="/incidents/${incId}"])`);
  await notice.first().waitFor({ timeout: 15000 });
  assert.equal(zz.url(), t.base + "/mobilisation", "no reload or navigation");
  assert.ok((await zz.locator("#live .card").count()) > noticesBefore);
  assert.match(await notice.first().textContent(), /待命/);
  // zuzhi answers ready; the commander's screen fills up live.
  await notice.first().locator("input[name=people]").fill("6");
  await Promise.all([zz.waitForURL(t.base + "/mobilisation"), notice.first().locator("button.ready").click()]);
  await cmd.waitForFunction(() => /就绪 [1-9]\d* 人/.test(document.querySelector("#mob-summary").textContent), null, { timeout: 15000 });

  // 4. The volunteer's phone (375 px wide, with the device location).
  const vctx = await t.context({ geolocation: here, permissions: ["geolocation"] });
  const vol = await vctx.newPage();
  watch(vol);
  await t.login(vol, "zhiyuan");
  // Free the volunteer of any demo offer first (a responder holds one task at a time).
  await vol.goto(t.base + "/my/tasks");
  while ((await vol.locator("#live button.decline").count()) > 0) {
    await Promise.all([vol.waitForURL(t.base + "/my/tasks"), vol.locator("#live button.decline").first().click()]);
  }

  // 5. The commander creates a task there and offers it to the best match at once.
  await cmd.fill("#task-form input[name=title]", "协助转移老人");
  await cmd.selectOption("#task-form select[name=skill]", "first_aid");
  await cmd.fill("#task-form input[name=head_count]", "1");
  await cmd.fill("#task-form input[name=lon]", String(here.longitude));
  await cmd.fill("#task-form input[name=lat]", String(here.latitude));
  await Promise.all([cmd.waitForURL(incUrl), cmd.click("#task-submit")]);
  const task = cmd.locator(".card.task", { hasText: "协助转移老人" });
  await task.waitFor();
  assert.equal(await task.locator(".assignments li").count(), 1, "offered to one responder");

  // 6. The volunteer sees the offer live (no reload), accepts, checks in and out.
  const offer = vol.locator("#live .my-task.asg-offered", { hasText: "协助转移老人" });
  await offer.waitFor({ timeout: 15000 });
  const overflow = await vol.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `my tasks overflow the phone width by ${overflow}px`);
  await Promise.all([vol.waitForURL(t.base + "/my/tasks"), offer.locator("button.accept").click()]);
  const card = vol.locator("#live .my-task", { hasText: "协助转移老人" });
  assert.match(await card.textContent(), /已接受/);
  await Promise.all([vol.waitForURL(t.base + "/my/tasks"), card.locator("button.check-in").click()]);
  assert.match(await card.textContent(), /到场/);
  await Promise.all([vol.waitForURL(t.base + "/my/tasks"), card.locator("button.check-out").click()]);
  const row = vol.locator("#hours tr", { hasText: "协助转移老人" });
  await row.waitFor();
  assert.match(await row.locator(".minutes").textContent(), /^\d+$/);
  assert.match(await vol.textContent("#total-hours"), /小时/);
  await vol.screenshot({ path: `${t.shots}/incidents-my-tasks-375.png`, fullPage: true });

  // The commander's page shows the assignment done and the on-scene KPI measured.
  await cmd.goto(incUrl);
  assert.match(await cmd.locator(".card.task", { hasText: "协助转移老人" }).textContent(), /完成/);
  await cmd.screenshot({ path: `${t.shots}/incidents-command.png`, fullPage: true });

  assert.deepEqual(errors, [], "no script errors");
  for (const c of [wctx, zctx, cctx, vctx]) await c.close();
}
