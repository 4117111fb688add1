// Registry: a civil-affairs officer files an organisation, verifies it, imports a volunteer
// roster with a bad row (reported by row and column, good rows saved) and exports the list.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CW = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
function creditCode(first17) {
  const sum = [...first17].reduce((s, c, i) => s + CREDIT.indexOf(c) * CW[i], 0);
  return first17 + CREDIT[(31 - (sum % 31)) % 31];
}
const IW = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idNumber(first17) {
  const sum = [...first17].reduce((s, c, i) => s + Number(c) * IW[i], 0);
  return first17 + "10X98765432"[sum % 11];
}

export default async function (t) {
  const { assert } = t;
  const ctx = await t.context({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await t.login(page, "minzheng");

  // File an organisation.
  const stamp = String(Date.now()).slice(-7);
  const code = creditCode("52320508MJ" + stamp);
  await page.goto(t.base + "/orgs/new");
  await page.fill("input[name=name]", `姑苏区晨光助残服务中心${stamp}`);
  await page.fill("input[name=credit_code]", code);
  await page.selectOption("select[name=kind]", "social_service");
  await page.fill("input[name=division_code]", "320508018000");
  await page.fill("input[name=contact_name]", "陆晓");
  await page.fill("input[name=contact_phone]", "13912345678");
  await page.check("input[name=domains][value=disability]");
  await Promise.all([page.waitForNavigation(), page.click("#org-submit")]);
  assert.match(new URL(page.url()).pathname, /^\/orgs\/\d+$/, "goes to the new organisation");
  const orgUrl = page.url();
  assert.match(await page.textContent("#contact-phone"), /139\*\*\*\*5678/, "phone masked by default");

  // Verify it.
  await Promise.all([page.waitForNavigation(), page.click("#verify")]);
  await page.goto(orgUrl);
  assert.match(await page.textContent("#org-state"), /已审核/);

  // The same credit code again is refused, naming the existing record.
  await page.goto(t.base + "/orgs/new");
  await page.fill("input[name=name]", "重复组织");
  await page.fill("input[name=credit_code]", code);
  await page.fill("input[name=division_code]", "320508018000");
  await page.fill("input[name=contact_name]", "张");
  await page.fill("input[name=contact_phone]", "13912345679");
  await page.check("input[name=domains][value=elderly]");
  await page.click("#org-submit");
  await page.waitForLoadState();
  assert.match(await page.textContent("body"), new RegExp(`晨光助残服务中心${stamp}`), "names the existing record");

  // Import a roster with one bad row.
  const good1 = idNumber("32050819900101" + stamp.slice(0, 3));
  const good2 = idNumber("32050819850615" + stamp.slice(3, 6));
  const bad = good1.slice(0, 17) + (good1[17] === "1" ? "2" : "1");
  const csv = "\ufeff姓名,身份证号,手机号,所在区划代码,技能\n" +
    `沈一,${good1},13800000001,320508018014,急救\n` +
    `顾二,${bad},13800000002,320508018014,\n` +
    `钱三,${good2},13800000003,320508018014,心理疏导\n`;
  const file = join(tmpdir(), `roster-${stamp}.csv`);
  writeFileSync(file, csv);
  await page.goto(t.base + "/registry/import");
  await page.selectOption("select[name=which]", "volunteers");
  await page.setInputFiles("#import-file", file);
  await Promise.all([page.waitForNavigation(), page.click("#import-preview")]);
  const errs = await page.textContent("#row-errors");
  assert.match(errs, /3/, "bad row reported by its row number");
  assert.match(errs, /身份证号/, "and its column");
  await Promise.all([page.waitForNavigation(), page.click("#import-confirm")]);
  assert.match(await page.textContent("#import-counts"), /新增\s*2/, "the two good rows are saved");

  // Export the volunteer list; ID numbers stay masked.
  await page.goto(t.base + "/volunteers");
  const href = await page.getAttribute("#vol-export-csv", "href");
  const resp = await ctx.request.get(new URL(href, t.base).toString());
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()["content-disposition"] || "", /attachment/);
  const body = await resp.text();
  assert.match(body, /姓名/);
  assert.ok(!body.includes(good1), "the full ID number is not in a masked export");
  assert.match(body, /沈一/);
  assert.deepEqual(dialogs, []);
  await ctx.close();

  // The demo volunteer's request to join waits on the organisation admin, who approves it on
  // the organisation page; the volunteer then sees the membership on their own page.
  const admin = await t.context({ viewport: { width: 1280, height: 900 } });
  const ap = await admin.newPage();
  await t.login(ap, "zuzhi");
  await ap.goto(t.base + "/orgs");
  await Promise.all([ap.waitForNavigation(), ap.click("table a[href^='/orgs/']")]);
  assert.match(await ap.textContent("#pending-requests"), /沈浩/, "the pending request is listed");
  assert.match(await ap.textContent("#team-list"), /水上救援一队（3）/, "demo teams with members");
  await Promise.all([ap.waitForNavigation(), ap.click("#pending-requests .approve-request")]);
  assert.match(await ap.textContent("#member-names"), /沈浩/, "approved: now a member");
  await admin.close();
  const vol = await t.context();
  const vp = await vol.newPage();
  await t.login(vp, "zhiyuan");
  await vp.goto(t.base + "/volunteers");
  await Promise.all([vp.waitForNavigation(), vp.click("#volunteers a[href^='/volunteers/']")]);
  assert.match(await vp.textContent("#membership-list"), /已加入/);
  await vol.close();
}
