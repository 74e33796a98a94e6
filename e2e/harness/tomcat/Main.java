// Main is the upstream API of the gateway attack suite (e2e/worker
// attack_*_test.go): a real Tomcat 10, embedded, reading paths as a
// servlet container does (";parameters" dropped before dot segments are
// resolved). Run as a single-file source program, no javac step:
//
//	java -cp /usr/share/java/tomcat10-embed-core.jar Main.java <basedir>
//
// It listens on a free loopback port, prints "READY <port>", then one
// "HIT {json}" line on stdout for every request it serves, wherever it
// lands: the API under /base/ripple/, the secret outside it
// (/base/admin/), or anything else. The test reads those lines: the
// upstream's own record of what reached it and with which Authorization.
//
// The API (/base/ripple/<what>):
//   echo          200, the path as Tomcat resolved it
//   unauthorized  401 with a Bearer challenge, every time
//   headers       200 with response headers a browser must not get
//   echoheaders   200 with the Cache-Control and Location given as the
//                 query parameters cc and loc
//   upload/...    reads the body to its end and records how many bytes
//                 came and whether the body was complete (a chunked body
//                 without its last chunk, or one shorter than its
//                 Content-Length, is an IOException here)

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

public class Main {
    public static void main(String[] args) throws Exception {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(args[0]);
        tomcat.setPort(0);
        tomcat.getConnector().setProperty("address", "127.0.0.1");
        Context ctx = tomcat.addContext("", null);
        Tomcat.addServlet(ctx, "api", new Recorder("api"));
        ctx.addServletMappingDecoded("/base/ripple/*", "api");
        Tomcat.addServlet(ctx, "secret", new Recorder("secret"));
        ctx.addServletMappingDecoded("/base/admin/*", "secret");
        Tomcat.addServlet(ctx, "other", new Recorder("other"));
        ctx.addServletMappingDecoded("/", "other");
        tomcat.start();
        System.out.println("READY " + tomcat.getConnector().getLocalPort());
        System.out.flush();
        tomcat.getServer().await();
    }

    static final class Recorder extends HttpServlet {
        private final String name;

        Recorder(String name) {
            this.name = name;
        }

        @Override
        protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
            String path = req.getServletPath() + (req.getPathInfo() == null ? "" : req.getPathInfo());
            long bytes = 0;
            boolean complete = true;
            String what = name.equals("api") && req.getPathInfo() != null ? req.getPathInfo() : "";
            if (what.startsWith("/upload")) {
                byte[] buf = new byte[64 << 10];
                try (InputStream in = req.getInputStream()) {
                    for (int n; (n = in.read(buf)) > 0; ) bytes += n;
                } catch (IOException e) {
                    complete = false;
                }
            }
            hit(req, path, bytes, complete);
            switch (what) {
                case "/unauthorized":
                    res.setStatus(401);
                    res.setHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
                    break;
                case "/headers":
                    res.setHeader("Clear-Site-Data", "\"*\"");
                    res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
                    res.setHeader("Server-Timing", "db;dur=53");
                    res.setHeader("Cache-Control", "public, max-age=3600, s-maxage=7200");
                    res.setHeader("Expires", "Thu, 01 Dec 2094 16:00:00 GMT");
                    res.setHeader("Vary", "Accept");
                    res.setHeader("X-Upstream-Secret", "internal");
                    res.setHeader("Set-Cookie", "upstream=1; Path=/");
                    res.setHeader("Access-Control-Allow-Origin", "*");
                    res.setHeader("ETag", "\"v1\"");
                    res.setHeader("Content-Language", "en");
                    res.setHeader("Retry-After", "7");
                    res.setHeader("Location", "/base/ripple/elsewhere?x=1");
                    break;
                case "/echoheaders":
                    if (req.getParameter("cc") != null) res.setHeader("Cache-Control", req.getParameter("cc"));
                    if (req.getParameter("loc") != null) res.setHeader("Location", req.getParameter("loc"));
                    break;
                default:
                    break;
            }
            if (complete && !res.isCommitted()) {
                res.setContentType("application/json");
                res.getWriter().write("{\"servlet\":" + quote(name) + ",\"path\":" + quote(path) + ",\"bytes\":" + bytes + "}\n");
            }
        }

        private void hit(HttpServletRequest req, String path, long bytes, boolean complete) {
            String auth = req.getHeader("Authorization");
            String line = "HIT {\"servlet\":" + quote(name) + ",\"method\":" + quote(req.getMethod())
                    + ",\"uri\":" + quote(req.getRequestURI()) + ",\"path\":" + quote(path)
                    + ",\"authorization\":" + quote(auth == null ? "" : auth)
                    + ",\"bytes\":" + bytes + ",\"complete\":" + complete + "}";
            synchronized (System.out) {
                System.out.println(line);
                System.out.flush();
            }
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
