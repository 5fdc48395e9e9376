<?php
// wiki 2.1: a page computed by PHP in the guest, so a client can see that PHP runs.
$pages = ['Main_Page' => 'Welcome to the wiki', 'ServiceFarm' => 'Services in environments'];
$n = 0; for ($i = 1; $i <= 100; $i++) { $n += $i * $i; }
header('Content-Type: text/plain; charset=utf-8');
echo "wiki 2.1\n";
echo "php " . PHP_VERSION . " (" . PHP_SAPI . ") on " . php_uname('s') . " " . php_uname('r') . "\n";
echo "sum of squares 1..100 = $n\n";
echo "sha1(wiki) = " . sha1('wiki') . "\n";
echo "pages: " . implode(', ', array_keys($pages)) . "\n";
echo "served at " . gmdate('Y-m-d\TH:i:s\Z') . " by " . ($_SERVER['SERVER_SOFTWARE'] ?? 'unknown') . "\n";
