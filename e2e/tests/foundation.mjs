// Foundation: log in as a demo user on a phone-sized page, switch language, see the home page,
// see the plain "not built" notice, log out.
export default async function (t) {
  const { assert } = t;
  const ctx = await t.context();
  const page = await ctx.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto(t.base + "/");
  assert.match(page.url(), /\/login/, "anonymous visitors are sent to the login page");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");

  // Wrong password: one clear message, no detail about which part was wrong.
  await page.fill("#username", "shequ");
  await page.fill("#password", "wrong-password-1");
  await Promise.all([page.waitForNavigation(), page.click("#login-submit")]);
  assert.equal((await page.textContent("#login-error")).trim(), "用户名或密码错误");

  await t.login(page, "shequ");
  assert.equal(new URL(page.url()).pathname, "/");
  assert.match(await page.textContent("#welcome"), /欢迎，平江街道 张晓燕/);
  assert.equal((await page.textContent("#role")).trim(), "街道/社区工作人员");
  // Usable at 375 px: nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page overflows the phone width by ${overflow}px`);
  await page.screenshot({ path: `${t.shots}/home-zh-375.png`, fullPage: true });

  // A capability that is not built says so.
  await page.goto(t.base + "/c/m");
  assert.match(await page.textContent("#not-built"), /本功能尚未建成/);

  // Language switch to English and back.
  await page.goto(t.base + "/");
  await Promise.all([page.waitForNavigation(), page.click("#lang-switch")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.match(await page.textContent("#welcome"), /Welcome/);
  assert.equal((await page.textContent("#role")).trim(), "Street/community worker");
  await page.screenshot({ path: `${t.shots}/home-en-375.png`, fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click("#lang-switch")]);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");

  // The division picker expands children through htmx (only the own jurisdiction).
  await page.goto(t.base + "/divisions");
  await page.click("#div-tree button");
  await page.waitForSelector("#div-tree ul li");
  assert.match(await page.textContent("#div-tree"), /社区居委会/);

  // Log out.
  await Promise.all([page.waitForNavigation(), page.click("#logout")]);
  assert.match(page.url(), /\/login/);
  await page.goto(t.base + "/");
  assert.match(page.url(), /\/login/, "the session is gone");

  assert.deepEqual(dialogs, [], "no dialog fired");
  assert.deepEqual(errors, [], "no script error");
  await ctx.close();
}
