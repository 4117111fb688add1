// Grids (capability H): a grid worker on a phone sees the vulnerable residents of the grid in
// check order, starts a door-to-door round and records visits; the community worker sees the
// round's progress live (server-sent events), on the round page and on the grid list.
export default async function (t) {
  const { assert } = t;
  const errors = [];

  const wctx = await t.context();
  const w = await wctx.newPage();
  w.on("pageerror", (e) => errors.push("grid worker: " + e));
  await t.login(w, "wangge");
  await w.goto(t.base + "/grids");
  assert.match(new URL(w.url()).pathname, /^\/grids\/\d{15}$/, "the grid worker lands on the own grid");
  const people = await w.locator("#vulnerable li").count();
  assert.ok(people >= 2, `vulnerable residents listed (${people})`);
  assert.match(await w.textContent("#vulnerable li >> nth=0"), /\*/, "names are masked");
  assert.ok(await w.isVisible("#synthetic-note"), "the map says the boundary is generated");
  await w.waitForSelector("#grid-map .leaflet-interactive");
  let overflow = await w.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `grid page overflows the phone by ${overflow}px`);
  await w.screenshot({ path: `${t.shots}/grids-detail-375.png`, fullPage: true });

  await w.fill("#start-round-form input[name=title]", "暴雨入户走访");
  await Promise.all([w.waitForNavigation(), w.click("#start-round")]);
  const roundPath = new URL(w.url()).pathname;
  assert.match(roundPath, /^\/grids\/rounds\/\d+$/);
  assert.equal((await w.textContent("#done-count")).trim(), "0");
  assert.equal(Number((await w.textContent("#total-count")).trim()), people);

  // The community worker watches the round and the grid list.
  const cctx = await t.context({ viewport: { width: 1280, height: 900 } });
  const c = await cctx.newPage();
  c.on("pageerror", (e) => errors.push("community worker: " + e));
  await t.login(c, "shequ");
  await c.goto(t.base + roundPath);
  assert.equal((await c.textContent("#done-count")).trim(), "0");
  const list = await cctx.newPage();
  list.on("pageerror", (e) => errors.push("community list: " + e));
  await list.goto(t.base + "/grids");
  assert.match(await list.textContent("#open-rounds"), /暴雨入户走访/);
  // Let both SSE connections open before the first record.
  await c.waitForTimeout(800);

  // The grid worker records "safe" for the first person and "needs help" for the second.
  await w.click("#round-body li >> nth=0 >> button[value=checked]");
  await w.waitForFunction(() => document.querySelector("#done-count").textContent.trim() === "1");
  await w.fill("#round-body li >> nth=1 >> input[name=note]", "需要送药");
  await w.click("#round-body li >> nth=1 >> button[value=needs_help]");
  await w.waitForFunction(() => document.querySelector("#help-count").textContent.trim() === "1");
  assert.match(await w.textContent("#round-body li >> nth=0"), /已确认安全/);
  overflow = await w.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `round page overflows the phone by ${overflow}px`);
  await w.screenshot({ path: `${t.shots}/grids-round-375.png`, fullPage: true });

  // Live on the community worker's screens, without reloading.
  await c.waitForFunction(() => document.querySelector("#done-count").textContent.trim() === "2", null, { timeout: 15000 });
  assert.equal((await c.textContent("#help-count")).trim(), "1");
  assert.match(await c.textContent("#round-body li >> nth=1"), /需要帮助/);
  await list.waitForFunction(() => /已走访\s*2\//.test(document.querySelector("#open-rounds").textContent), null, { timeout: 15000 });
  await c.screenshot({ path: `${t.shots}/grids-round-community.png`, fullPage: true });

  assert.deepEqual(errors, [], "no script error");
  await wctx.close();
  await cctx.close();
}
