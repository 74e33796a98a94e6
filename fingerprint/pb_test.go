package fingerprint
import ("testing";"time";"crypto/sha256";"github.com/tokenhelper/tokenhelper")
func TestCost(t *testing.T){cfg:=tokenhelper.Config{Provider:"aluma",ClientID:"x",ClientSecret:"y"}
for _,n:=range []int{1,1,1000,10000,100000}{s:=time.Now();Slow(cfg,n);t.Log(n,time.Since(s))}
s:=time.Now();h:=sha256.New();b:=make([]byte,64);for range 100000{h.Write(b)};h.Sum(nil);t.Log("100k blocks sha256",time.Since(s))
}
