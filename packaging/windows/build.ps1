<#
.SYNOPSIS
Builds Lantern's Windows installer, dist\Lantern-<version>-windows-x86_64[-cuda]-setup.exe.

.DESCRIPTION
Needs llama-cpp-python built for the variant and `pip install -e ".[package]"` in the
interpreter's environment (packaging/README.md), and Inno Setup 6. Steps: the PyInstaller
bundle, a smoke test of it, the installer; signed when a certificate is configured.
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
Environment:
  LANTERN_BACKEND               cpu (default) or cuda: the llama.cpp build in the bundle
  WINDOWS_CERTIFICATE_PATH      a .pfx file; with the password below, the programs, the
  WINDOWS_CERTIFICATE_PASSWORD  installer and the uninstaller are signed with it

.PARAMETER Python
The interpreter to build with; default .venv\Scripts\python.exe, else python on PATH.
#>
param([string]$Python)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Runs a program and stops the script if it fails: $ErrorActionPreference covers cmdlets only.
function Invoke-Checked {
    param([Parameter(Mandatory)][string]$Program, [string[]]$Arguments = @())
    & $Program @Arguments
    # Not the arguments: signtool's hold the certificate password.
    if ($LASTEXITCODE -ne 0) { throw "$(Split-Path -Leaf $Program) exited with $LASTEXITCODE" }
}

function Get-AppInfo([string]$Key) {
    $value = Invoke-Checked $Python @('packaging\app_info.py', $Key)
    return "$value".Trim()
}

# The timestamp keeps the signatures valid after the certificate expires.
function Get-SignArguments([string]$Cert, [string]$Password) {
    return @('sign', '/f', $Cert, '/p', $Password, '/fd', 'sha256',
        '/tr', 'http://timestamp.digicert.com', '/td', 'sha256')
}

function Find-SignTool {
    $onPath = Get-Command signtool.exe -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
    $found = Get-ChildItem -Path $kits -Filter signtool.exe -Recurse -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -eq 'x64' } | Sort-Object FullName | Select-Object -Last 1
    if (-not $found) { throw 'signtool.exe not found: install the Windows SDK.' }
    return $found.FullName
}

function Find-Iscc {
    $onPath = Get-Command iscc.exe -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $default = Join-Path ${env:ProgramFiles(x86)} 'Inno Setup 6\ISCC.exe'
    if (Test-Path $default) { return $default }
    throw 'ISCC.exe not found: install Inno Setup 6 (https://jrsoftware.org/isdl.php).'
}

$Root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
Push-Location $Root
try {
    if (-not $Python) {
        $venvPython = Join-Path $Root '.venv\Scripts\python.exe'
        $Python = if (Test-Path $venvPython) { $venvPython } else { 'python' }
    }
    $Backend = if ($env:LANTERN_BACKEND) { $env:LANTERN_BACKEND } else { 'cpu' }
    if ($Backend -notin @('cpu', 'cuda')) {
        throw "LANTERN_BACKEND must be cpu or cuda on Windows, not '$Backend'."
    }
    $Name = Get-AppInfo 'name'
    $Version = Get-AppInfo 'version'
    $NumericVersion = Get-AppInfo 'numeric_version'
    $Publisher = Get-AppInfo 'publisher'
    $Bundle = Join-Path $Root 'dist\lantern'
    Write-Host "Building $Name $Version ($Backend) with $Python"

    Invoke-Checked $Python @('-m', 'PyInstaller', 'packaging\lantern.spec', '--noconfirm',
        '--distpath', 'dist', '--workpath', 'build\pyinstaller')

    # The file name says which llama.cpp the installer holds, so it must match the bundle.
    $hasCuda = [bool](Get-ChildItem -Path $Bundle -Filter 'ggml-cuda*.dll' -Recurse)
    if ($hasCuda -ne ($Backend -eq 'cuda')) {
        throw "LANTERN_BACKEND=$Backend, but the bundle's llama.cpp is the other build: " +
            'rebuild llama-cpp-python for it, then run this again.'
    }

    $reported = Invoke-Checked (Join-Path $Bundle 'lantern-cli.exe') @('--version')
    if ("$reported" -notmatch [regex]::Escape($Version)) {
        throw "lantern-cli.exe --version printed '$reported', expected version $Version."
    }
    Write-Host "Smoke test: $reported"

    # /Q: errors only; ISCC would otherwise list every bundle file and echo the sign command,
    # password included.
    $isccArgs = @('/Q', "/DAppName=$Name", "/DAppVersion=$Version", "/DNumericVersion=$NumericVersion",
        "/DAppPublisher=$Publisher",
        "/DVariant=$Backend", "/DSourceDir=$Bundle", "/DOutputDir=$(Join-Path $Root 'dist')",
        "/DIconFile=$(Join-Path $Root 'build\pyinstaller\icons\lantern.ico')")
    $cert = $env:WINDOWS_CERTIFICATE_PATH
    $password = $env:WINDOWS_CERTIFICATE_PASSWORD
    if ($cert -and $password) {
        $signTool = Find-SignTool
        $signArgs = Get-SignArguments $cert $password
        foreach ($exe in 'lantern.exe', 'lantern-cli.exe') {
            Invoke-Checked $signTool ($signArgs + (Join-Path $Bundle $exe))
        }
        # ISCC runs this command for setup.exe and the uninstaller: $f is the file, $q a quote,
        # $$ a literal $ (escaped, as the password may hold one).
        $quoted = ($signArgs | ForEach-Object { '$q' + $_.Replace('$', '$$') + '$q' }) -join ' '
        $isccArgs += @("/Slantern=`$q$signTool`$q $quoted `$f", '/DSignTool=lantern')
    } else {
        Write-Host 'WINDOWS_CERTIFICATE_PATH/WINDOWS_CERTIFICATE_PASSWORD not set: the installer is unsigned.'
    }
    Invoke-Checked (Find-Iscc) ($isccArgs + 'packaging\windows\lantern.iss')

    $suffix = if ($Backend -eq 'cpu') { '' } else { "-$Backend" }
    $setup = Join-Path $Root "dist\$Name-$Version-windows-x86_64$suffix-setup.exe"
    if (-not (Test-Path $setup)) { throw "ISCC finished but $setup is missing." }
    Write-Host "Installer: $setup"
} finally {
    Pop-Location
}
