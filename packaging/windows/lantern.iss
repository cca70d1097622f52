; Inno Setup 6 script: Lantern's Windows installer,
;   dist\Lantern-<version>-windows-x86_64[-<variant>]-setup.exe
; packaging\windows\build.ps1 compiles it and passes every /D define; the defaults below let it
; compile by hand from a checkout after the PyInstaller bundle is built:
;   iscc packaging\windows\lantern.iss
; Relative paths are relative to this script's folder.

#ifndef AppName
  #define AppName "Lantern"
#endif
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
; Numbers only (0.2.0rc1 -> 0.2.0): the file version Explorer shows.
#ifndef NumericVersion
  #define NumericVersion "0.0.0"
#endif
#ifndef AppPublisher
  #define AppPublisher "The Lantern developers"
#endif
; The llama.cpp build in the bundle: cpu or cuda.
#ifndef Variant
  #define Variant "cpu"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\lantern"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\pyinstaller\icons\lantern.ico"
#endif

#define AppExe "lantern.exe"
; Only a variant other than the default shows in the file name.
#if Variant == "cpu"
  #define VariantSuffix ""
#else
  #define VariantSuffix "-" + Variant
#endif

[Setup]
; Fixed for good: Windows knows an installed Lantern, to upgrade or uninstall it, by this id.
; The cpu and cuda variants share it, so installing one replaces the other.
AppId={{829E1118-411A-4F42-A8D4-122E27F610E1}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
VersionInfoProductTextVersion={#AppVersion}
VersionInfoVersion={#NumericVersion}
; Per user by default, needing no administrator; the first page offers all users instead.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; {autopf} is %LOCALAPPDATA%\Programs for one user and Program Files for all users.
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6 runs on Windows 10 and later.
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x86_64{#VariantSuffix}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
#ifdef SignTool
; build.ps1 defines the sign tool with ISCC's /S when a certificate is configured; Setup then
; signs setup.exe and the uninstaller it writes.
SignTool={#SignTool}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: libraries of the previous version left beside the new
; ones could be loaded in their place.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#StringChange(AppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete]: uninstalling removes only what Setup installed. The user's models,
; chats and settings live in %LOCALAPPDATA%\Lantern (not in {app}) and stay, so a reinstall
; or an upgrade done as uninstall + install finds them again.
