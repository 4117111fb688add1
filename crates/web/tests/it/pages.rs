use super::{apps, PW};

fn field(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let start = html.find(&pat).unwrap_or_else(|| panic!("no field {name}")) + pat.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn login_home_language_logout_in_pages() {
    for t in apps().await {
        let c = t.client();
        let r = c.get(t.url("/")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/login?next=%2F");
        let html = c.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("登录"), "Chinese by default");
        let pre = field(&html, "_pre");

        // A login form without the pre-login token is refused (login CSRF).
        let r = c
            .post(t.url("/login"))
            .form(&[("username", "shequ"), ("password", PW), ("_pre", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let html = c.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
        let pre2 = field(&html, "_pre");
        assert_ne!(pre, pre2);
        let r = c
            .post(t.url("/login"))
            .form(&[("username", "shequ"), ("password", "nope1234"), ("_pre", &pre2)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("用户名或密码错误"));
        let html = c.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
        let pre3 = field(&html, "_pre");
        let r = c
            .post(t.url("/login"))
            .form(&[("username", "shequ"), ("password", PW), ("_pre", &pre3), ("next", "/divisions")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/divisions");
        let set = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
        assert!(set
            .iter()
            .any(|s| s.starts_with("tx_session=") && s.contains("HttpOnly") && s.contains("SameSite=Lax")));

        let home = c.get(t.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("街道/社区工作人员"));
        assert!(home.contains("平江街道"), "jurisdiction shown");
        let csrf = field(&home, "_csrf");

        // Not-built capabilities say so plainly.
        let cap = c.get(t.url("/c/m")).send().await.unwrap().text().await.unwrap();
        assert!(cap.contains("本功能尚未建成"));

        // English.
        let r = c.get(t.url("/lang?to=en&next=/")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let home_en = c.get(t.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home_en.contains("Street/community worker") && home_en.contains("lang=\"en\""));

        // The division picker shows only the jurisdiction, children via htmx.
        let kids = c.get(t.url("/divisions/320508018000/children")).send().await.unwrap().text().await.unwrap();
        assert!(kids.contains("察院场社区居委会"));
        let r = c.get(t.url("/divisions/320506000000/children")).send().await.unwrap();
        assert_eq!(r.status(), 404);

        // Forms without the CSRF field are refused; with it, logout works.
        assert_eq!(c.post(t.url("/logout")).form(&[("x", "y")]).send().await.unwrap().status(), 403);
        let r = c.post(t.url("/logout")).form(&[("_csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(c.get(t.url("/")).send().await.unwrap().status(), 303, "logged out");
        t.stop().await;
    }
}

#[tokio::test]
async fn pages_carry_security_headers() {
    for t in apps().await {
        let r = t.client().get(t.url("/login")).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(h.get("x-request-id").is_some());
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>"), "no inline script");
        t.stop().await;
    }
}
