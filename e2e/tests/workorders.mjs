// Residents' requests and supervision (E, J): a resident files a need on a phone-sized page, the
// community worker dispatches it to an organisation, the organisation answers, the resident rates
// it; a guest files an anonymous complaint and follows it by tracking code; the public page's
// figures change live.
export default async function (t) {
  const { assert } = t;
  const errors = [];
  const watch = (page) => page.on("pageerror", (e) => errors.push(String(e)));

  // The public page (no login) before: the demo seed's requests are counted.
  const pub = await (await t.context({ viewport: { width: 1280, height: 900 } })).newPage();
  watch(pub);
  await pub.goto(t.base + "/public/accountability?division=320508000000");
  const before = (await pub.textContent("#t-received")).trim();
  assert.match(before, /^\d+$|^<5$/, `received shown: ${before}`);

  // A resident files a need on a phone-sized page.
  const rctx = await t.context();
  const res = await rctx.newPage();
  watch(res);
  await t.login(res, "jumin");
  await res.goto(t.base + "/requests/new");
  await res.selectOption("#kind", "medicine");
  await res.fill("#description", "降压药快吃完了，行动不便，请帮忙代购送药上门");
  await res.check("input[name=vulnerable][value=elderly_alone]");
  await res.check("#urgent");
  await res.fill("#address", "姑苏区平江路 88 号 2 幢 301 室");
  await res.fill("#contact_name", "钱阿姨");
  await res.fill("#phone", "13912340088");
  const overflow = await res.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the need form overflows the phone width by ${overflow}px`);
  await Promise.all([res.waitForNavigation(), res.click("#submit-need")]);
  const code = (await res.textContent("#order-code")).trim();
  const tracking = (await res.textContent("#tracking-code")).trim();
  assert.match(code, /^WO\d{8}-\d{6}$/);
  assert.match(tracking, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  await res.screenshot({ path: `${t.shots}/workorders-filed-375.png`, fullPage: true });

  // The public figure changes without reloading (htmx polling of the figures).
  if (/^\d+$/.test(before)) {
    await pub.waitForFunction((b) => document.querySelector("#t-received").textContent.trim() === String(Number(b) + 1), before, { timeout: 15000 });
  }

  // The organisation admin's organisation.
  const zctx = await t.context();
  const org = await zctx.newPage();
  watch(org);
  await t.login(org, "zuzhi");
  const me = await (await org.request.get(t.base + "/api/v1/me")).json();
  assert.ok(me.org_id, "zuzhi acts for an organisation");

  // The community worker sees it in the live list and dispatches it to that organisation.
  const sctx = await t.context({ viewport: { width: 1280, height: 900 } });
  const sw = await sctx.newPage();
  watch(sw);
  await t.login(sw, "shequ");
  await sw.goto(t.base + "/workorders");
  await sw.click(`#workorders a:text("${code}")`);
  assert.equal((await sw.textContent("#state")).trim(), "已受理");
  assert.match(await sw.textContent("#phone"), /139\*\*\*\*0088/, "phone masked");
  await sw.fill("#org-id", String(me.org_id));
  await Promise.all([sw.waitForNavigation(), sw.click("#dispatch")]);
  assert.equal((await sw.textContent("#state")).trim(), "已派单");
  const orderUrl = sw.url();

  // The organisation accepts and answers.
  await org.goto(orderUrl);
  await Promise.all([org.waitForNavigation(), org.click("#accept")]);
  assert.equal((await org.textContent("#state")).trim(), "已签收");
  await org.fill("#answer-note", "已购药并送到家中，老人已签收");
  await Promise.all([org.waitForNavigation(), org.click("#answer-submit")]);
  assert.equal((await org.textContent("#state")).trim(), "已反馈待评价");

  // The resident follows it by tracking code, sees who handled it, and rates it.
  await res.goto(t.base + "/track?code=" + encodeURIComponent(tracking));
  assert.equal((await res.textContent("#track-state")).trim(), "已反馈待评价");
  assert.ok((await res.textContent("#track-handler")).trim().length > 0);
  await Promise.all([res.waitForNavigation(), res.click("#rate-submit")]);
  assert.equal((await res.textContent("#track-state")).trim(), "已办结");

  // A guest files an anonymous complaint and follows it by tracking code.
  const gctx = await t.context();
  const g = await gctx.newPage();
  watch(g);
  await g.goto(t.base + "/complaints/new");
  await g.selectOption("#category", "overpricing");
  await g.selectOption("#subject_kind", "community");
  await g.fill("#subject", "320508018000");
  await g.fill("#c-description", "应急物资包标价 168 元，远高于参考价");
  await Promise.all([g.waitForNavigation(), g.click("#submit-complaint")]);
  const ctrack = (await g.textContent("#tracking-code")).trim();
  await Promise.all([g.waitForNavigation(), g.click("#track-link")]);
  assert.equal((await g.textContent("#complaint-state")).trim(), "已受理");
  // A wrong file type is refused with a clear message.
  await g.goto(t.base + "/complaints/new");
  await g.selectOption("#category", "other");
  await g.fill("#subject", "320508018000");
  await g.fill("#c-description", "附件测试");
  await g.setInputFiles("#file", { name: "x.exe", mimeType: "application/octet-stream", buffer: Buffer.from("MZ\x90\x00binary") });
  await Promise.all([g.waitForNavigation(), g.click("#submit-complaint")]);
  assert.match(await g.textContent("#form-errors"), /图片|PDF/);

  // The supervisor sees it anonymous.
  const jctx = await t.context({ viewport: { width: 1280, height: 900 } });
  const j = await jctx.newPage();
  watch(j);
  await t.login(j, "jiandu");
  await j.goto(t.base + "/complaints?state=received");
  await Promise.all([j.waitForNavigation(), j.click("#complaints tbody tr:first-child a")]);
  assert.match(await j.textContent("#complainant"), /匿名/);

  await pub.reload();
  await pub.screenshot({ path: `${t.shots}/workorders-public.png`, fullPage: true });
  assert.deepEqual(errors, [], "no script error");
  for (const c of [rctx, zctx, sctx, gctx, jctx]) await c.close();
}
